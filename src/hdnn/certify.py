"""Certificates: the committed runs still hold for the training code at HEAD, shown by rerunning a
fixed sample of them instead of all of them.

A stage's sample (config ``certify.<stage>``, fixed before the change it certifies) is rerun at HEAD
by the ordinary training rules; ``certify`` compares every metric of every rerun with the committed
run of the same seed (paper/data) and writes, under paper/data/certificates/:

- ``<stage>.csv``, per metric: runs, mean difference with its 95% t interval, the largest
  |difference|, the tolerance, the verdict, and the two digests it links (the committed runs'
  and the reruns'), with the files they cover;
- ``<stage>_runs.csv``, per run and metric: committed value, rerun value, difference.

Paired (config ``certify_baseline.<stage>``): the reruns are compared with the same sample rerun at
the committed runs' code on the same machine instead, so the certificate measures the code change
and not the CPU (2-D training is chaotic: another CPU's last bits become points).

Verdict: ``identical`` (every rerun equal to the committed digits), ``equivalent`` (every |difference|
within the metric's tolerance), ``different``. hdnn.staleness accepts runs made at the certificate's
runs digest as if made at its rerun digest only when that is HEAD's and the verdict is not
``different``.

Tolerances are measured, never chosen to pass: ``envelope`` compares the same sample at the same
code and seeds run for two CPU targets (AVX-512 and AVX2 dispatch, docs/workflow.md) and writes
``<stage>_envelope.csv``; the config's tolerance of each metric is that file's largest |difference|
(tests/test_certify.py holds them together).
"""

from __future__ import annotations

import argparse
import io
import math
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from hdnn.runs import collect_runs, read_record
from hdnn.staleness import CERTIFIED, ROOT, training_code_digest

VERDICTS = CERTIFIED + ("different",)   # worst last
# Stage → the committed per-run file, the columns naming a run, and its metrics with their scale:
# "points" compares accuracies in points (×100), "log10" compares log10 of a positive quantity (a
# gradient norm spans decades), "absolute" compares the value itself.
STAGES = {
    "table1": ("table1_runs.csv", ["protocol", "dataset", "depth", "arch", "seed_index"],
               {"train_acc": "points", "test_acc": "points"}),
    "figure2": ("gradients_summary.csv", ["network", "seed_index", "kind", "layer"],
                {"min": "log10", "max": "log10", "test_acc": "points", "train_loss": "log10",
                 "stall_iteration": "absolute"}),
    "table2": ("table2_runs.csv", ["protocol", "column", "depth", "seed_index"],
               {"train_acc": "points", "test_acc": "points"}),
    # The confirmatory 2-D runs (Table 1's protocols, the controls, Figure 2's networks): accuracies.
    "confirmatory": ("confirmatory_runs.csv", ["group", "setting", "dataset", "arch", "depth", "seed_index"],
                     {"train_acc": "points", "test_acc": "points"}),
    # Table 2's confirmatory runs (MNIST, the primary protocol): their own training code.
    "confirmatory_table2": ("confirmatory_table2_runs.csv", ["group", "setting", "dataset", "arch", "depth",
                                                             "seed_index"], {"train_acc": "points", "test_acc": "points"}),
}
CONFIRMATORY_STAGES = ("confirmatory", "confirmatory_table2")
# Where a stage's committed runs' commits and training code are recorded (under {report_dir}/data).
PROVENANCE = {**{stage: f"stages/{stage}.csv" for stage in STAGES},
              **{stage: f"{stage}_check.csv" for stage in CONFIRMATORY_STAGES}}
# Metrics of a whole run in a file of one row per tracked layer: compared once per run.
RUN_METRICS = {"figure2": (["network", "seed_index"], {"test_acc", "train_loss", "stall_iteration"})}
# Values are compared to 6 significant digits, what the committed files keep (hdnn.collect).
DIGITS = 6


def sample_problems(config: dict, stage: str) -> list[str]:
    """Why ``certify.<stage>``'s sample is not inside the stage's grid (empty: it is)."""
    spec, problems = config["certify"][stage], []
    for dataset, depths in spec.get("cells", {}).items():   # Table 1's cells, and the confirmatory runs'
        outside = sorted(set(depths) - set(config["table1"]["depths"].get(dataset, [])))
        if outside:
            problems.append(f"config key 'certify.{stage}.cells.{dataset}' has depths {outside} "
                            f"outside table1.depths")
    if stage == "figure2":
        names = [net["name"] for net in config["figure2"]["networks"]]
        problems += [f"config key 'certify.figure2.networks' names {n!r}: one of {', '.join(names)}"
                     for n in spec["networks"] if n not in names]
    elif stage == "confirmatory":
        from hdnn import confirmatory as CF
        protocol = CF.load(config["confirmatory"])
        problems += [f"config key 'certify.confirmatory.protocols' names {p!r}: one of "
                     f"{', '.join(CF.table1_protocols(protocol))}"
                     for p in spec["protocols"] if p not in CF.table1_protocols(protocol)]
        names = [net["name"] for net in CF.figure2_networks(config, protocol).values()]
        problems += [f"config key 'certify.confirmatory.networks' names {n!r}: one of {', '.join(names)}"
                     for n in spec["networks"] if n not in names]
    elif stage in ("table2", "confirmatory_table2"):   # seeds of every column and depth
        if stage == "table2":
            n, bound = config["table2"]["n_seeds"], "table2.n_seeds"
        else:
            from hdnn import confirmatory as CF
            n, bound = CF.n_seeds(config, CF.load(config["confirmatory"]))["table2"], "the protocol's Table 2 seeds"
        seeds = [i for i in spec["seeds"] if i >= n]
        if seeds:
            problems.append(f"config key 'certify.{stage}.seeds' has {seeds}: each below {bound} ({n})")
    return problems


def rerun_rows(stage: str, paths, window: int | None = None, threshold: float | None = None) -> pd.DataFrame:
    """The reruns in the committed file's layout, once every record is shown to name its own run."""
    distinct_runs(paths)
    if stage == "table1":
        return collect_runs(paths).rename(columns={"setting": "protocol"})
    if stage == "table2":
        from hdnn.table2 import collect_table2_runs
        return collect_table2_runs(paths)
    if stage == "figure2":
        from hdnn.figure2 import gradients_summary
        return gradients_summary(paths, None, window, threshold)
    if stage in CONFIRMATORY_STAGES:
        from hdnn import confirmatory as CF
        return CF.runs_frame(paths, CF.load())
    raise ValueError(f"stage={stage!r} is not allowed: one of {', '.join(STAGES)}")


IDENTITY = ["study", "setting", "dataset", "arch", "column", "depth", "seed_index"]


def distinct_runs(paths) -> None:
    """Two records that name the same run (e.g. one run's record written into another's folder)
    would be compared with one committed run twice and hide the other: an error, before any."""
    ids = collect_runs(paths, extra_keys=("column",))
    twice = ids[IDENTITY].astype(str).duplicated(keep=False)
    if twice.any():
        raise ValueError(f"{int(twice.sum())} records name the same run as another, e.g. "
                         f"{' and '.join(ids.loc[twice, 'path'].iloc[:2])}: each must name its own run")


def _rounded(values: pd.Series) -> np.ndarray:
    return values.astype(float).map(lambda v: float(f"{v:.{DIGITS}g}")).to_numpy()


def differences(stage: str, committed: pd.DataFrame, reruns: pd.DataFrame) -> pd.DataFrame:
    """Per run and metric: committed, rerun (both to ``DIGITS`` significant digits), difference on
    the metric's scale. Every rerun must have its committed run (a sample outside the committed
    grid is an error)."""
    _, keys, metrics = STAGES[stage]
    both = reruns[keys + list(metrics)].merge(committed[keys + list(metrics)], on=keys, how="left",
                                              suffixes=("_rerun", "_committed"), indicator=True)
    missing = both[both["_merge"] != "both"]
    if len(missing):
        raise ValueError(f"{len(missing)} rerun(s) of stage {stage} have no committed run, e.g. "
                         f"{missing[keys].iloc[0].to_dict()}: the sample must come from the committed grid")
    rows = []
    for metric, scale in metrics.items():
        a, b = _rounded(both[f"{metric}_committed"]), _rounded(both[f"{metric}_rerun"])
        equal = (a == b) | (np.isnan(a) & np.isnan(b))
        with np.errstate(divide="ignore", invalid="ignore"):
            diff = {"points": (b - a) * 100, "log10": np.log10(b) - np.log10(a), "absolute": b - a}[scale]
        per_run = both[keys].assign(metric=metric, scale=scale, committed=a, rerun=b,
                                  difference=np.where(equal, 0.0, diff))
        run_keys, run_metrics = RUN_METRICS.get(stage, (None, ()))
        rows.append(per_run.drop_duplicates(run_keys) if metric in run_metrics else per_run)
    return pd.concat(rows, ignore_index=True)


def summary(diffs: pd.DataFrame, tolerance: dict[str, float]) -> pd.DataFrame:
    """Per metric: mean difference with its 95% t interval, the largest |difference| (NaN where one
    side is missing: never within tolerance), tolerance and verdict."""
    rows = []
    for metric, g in diffs.groupby("metric", sort=False):
        d = g["difference"].to_numpy(float)
        finite = d[np.isfinite(d)]
        largest = float(np.abs(d).max()) if np.isfinite(d).all() else math.inf
        mean = float(finite.mean()) if len(finite) else math.nan
        if len(finite) > 1 and finite.std(ddof=1) > 0:
            low, high = stats.t.interval(0.95, len(finite) - 1, loc=mean, scale=stats.sem(finite))
        else:
            low = high = mean
        tol = tolerance[metric]
        verdict = ("identical" if largest == 0 else "equivalent" if largest <= tol else "different")
        rows.append({"metric": metric, "scale": g["scale"].iloc[0], "runs": len(d), "mean_difference": mean,
                     "ci95_low": low, "ci95_high": high, "largest_abs_difference": largest,
                     "tolerance": tol, "verdict": verdict})
    return pd.DataFrame(rows)


def worst(verdicts) -> str:
    return max(verdicts, key=VERDICTS.index)


def stage_digest(paths, train_code: list[str], root: Path = ROOT) -> str:
    """The training code's digest at the commits of these runs ("none" unless one committed code)."""
    return training_code_digest(sorted({read_record(p).get("git_commit", "unknown") for p in paths}),
                                train_code, root)


def certify(stage: str, paths, committed_csv: str | Path, committed_provenance: str | Path,
            train_code: list[str], tolerance: dict[str, float], out_dir: str | Path,
            window: int | None = None, threshold: float | None = None, root: Path = ROOT,
            baseline=None) -> pd.DataFrame:
    """Compare the reruns ``paths`` with the committed runs and write the stage's certificate. The
    committed runs' digest covers the files their stage provenance names (the training code as
    it was), the reruns' digest today's ``train_code`` (a module may have joined it since).

    Paired (``baseline``: the same sample rerun on the machine that made the reruns, at the committed
    runs' code or at code that the stage's certificate committed at HEAD carries them to): the
    reruns are compared with those instead, so the certificate measures the code change alone, not
    the CPU (chaotic 2-D training turns another CPU's last bits into points, docs/workflow.md).
    Carried, the verdict is the worse of the two certificates'. Every rerun must still name a
    committed run."""
    prov = pd.read_csv(committed_provenance)   # a stage's one row, or one row per commit (confirmatory)
    commits = prov["commits"].iloc[0].split() if "commits" in prov else list(prov["git_commit"])
    runs_files = prov["train_code"].iloc[0].split(",")
    runs_digest = training_code_digest(commits, runs_files, root)
    committed = pd.read_csv(committed_csv)
    reruns = rerun_rows(stage, paths, window, threshold)
    carried_by = None
    if baseline is None:
        diffs, compared_with = differences(stage, committed, reruns), "committed"
    else:
        if stage_digest(baseline, runs_files, root) != runs_digest:
            carried_by = carrying_certificate(stage, out_dir, runs_digest, runs_files, baseline, root)
        differences(stage, committed, reruns)   # the sample lies in the committed grid
        diffs = differences(stage, rerun_rows(stage, baseline, window, threshold), reruns)
        diffs, compared_with = diffs.rename(columns={"committed": "baseline"}), "baseline: " + machine(baseline)
    table = summary(diffs, tolerance)
    verdicts = list(table["verdict"]) + ([carried_by["certificate"]] if carried_by is not None else [])
    table = table.assign(
        certificate=worst(verdicts), compared_with=compared_with,
        baseline_carried_by="" if carried_by is None else
        f"{carried_by['commit'][:12]}:{carried_by['path']} ({carried_by['certificate']}, largest "
        f"{carried_by['largest']:g})",
        runs_digest=runs_digest, runs_files=",".join(runs_files),
        rerun_digest=stage_digest(paths, train_code, root), rerun_machine=machine(paths),
        files=",".join(train_code))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / f"{stage}.csv", index=False, float_format="%.6g")
    diffs.to_csv(out / f"{stage}_runs.csv", index=False, float_format="%.6g")
    return table


def carrying_certificate(stage: str, out_dir, runs_digest: str, runs_files: list[str], baseline,
                         root: Path = ROOT) -> dict:
    """The stage's certificate committed at HEAD, when it carries the committed runs to the code
    the baseline was made at (its verdict not ``different``); otherwise an error."""
    target = (Path(out_dir) / f"{stage}.csv").resolve()
    path = target.relative_to(root.resolve()).as_posix() if target.is_relative_to(root.resolve()) else str(target)
    git = lambda *a: subprocess.run(["git", *a], cwd=root, capture_output=True, text=True)   # noqa: E731
    shown, head = git("show", f"HEAD:{path}"), git("rev-parse", "HEAD").stdout.strip()
    committed = pd.read_csv(io.StringIO(shown.stdout)) if shown.returncode == 0 and shown.stdout else None
    prev = None if committed is None else committed.iloc[0]
    if (prev is None or (prev["runs_digest"], prev["runs_files"]) != (runs_digest, ",".join(runs_files))
            or prev["certificate"] not in CERTIFIED
            or stage_digest(baseline, prev["files"].split(","), root) != prev["rerun_digest"]):
        raise ValueError(f"the baseline of stage {stage} (e.g. {baseline[0]}) was made neither at the committed "
                         f"runs' training code ({runs_digest[:12]}) nor at code that the certificate committed "
                         f"at HEAD ({path}) carries them to: rerun the sample at the committed runs' code")
    return {"commit": head, "path": path, "certificate": prev["certificate"],
            "largest": float(committed["largest_abs_difference"].max())}


def machine(paths) -> str:
    """The platforms and CPU targets the runs' records name (the records do not name the CPU model)."""
    records = [read_record(p) for p in paths]
    return "; ".join(sorted({f"{r['versions'].get('platform', '?')} {r['versions'].get('cpu_capability', '?')}"
                             for r in records}))


def envelope(stage: str, paths_a, paths_b, out_csv: str | Path, targets: list[str] | None = None,
             code: str | None = None, window: int | None = None, threshold: float | None = None,
             committed_csv: str | Path | None = None) -> pd.DataFrame:
    """The same sample, code and seeds run for two CPU targets: per metric the differences between
    them (``summary`` with no tolerance). Side A is ``paths_a``, or the committed runs
    (``committed_csv``, made by their code on their machines). The targets are the runs' recorded
    ones (torch's vector dispatch) unless ``targets`` names them. The rows of this ``code`` (the
    runs' commits unless named) replace its earlier rows in ``out_csv``; rows of other code stay:
    a stage's tolerance is the largest over every code measured (the committed runs' and HEAD's)."""
    records = [[read_record(p) for p in ps] for ps in (paths_a, paths_b)]
    targets = targets or [" ".join(sorted({r["versions"].get("cpu_capability", "?") for r in rs}))
                          for rs in records]
    if targets[0] == targets[1]:
        raise ValueError(f"both sets of runs were made for CPU target {targets[0]}: an envelope "
                         f"needs two (docs/workflow.md: the certificates' tolerances)")
    a = pd.read_csv(committed_csv) if committed_csv else rerun_rows(stage, paths_a, window, threshold)
    diffs = differences(stage, a, rerun_rows(stage, paths_b, window, threshold))
    code = code or " ".join(sorted({r.get("git_commit", "unknown")[:12] for rs in records for r in rs}))
    table = summary(diffs, {m: math.inf for m in STAGES[stage][2]}).drop(columns=["tolerance", "verdict"])
    table = table.assign(code=code, target_a=targets[0], target_b=targets[1])
    out = Path(out_csv)
    if out.is_file():
        earlier = pd.read_csv(out)
        table = pd.concat([earlier[earlier["code"] != code], table], ignore_index=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False, float_format="%.6g")
    return table


def compared(with_: str) -> str:
    return ("the committed runs" if with_ == "committed" else
            f"the sample rerun at the committed runs' code on {with_.removeprefix('baseline: ')} (paired)")


def write_report(summaries, out_md: str | Path) -> None:
    """The certificates in one page (``<report_dir>/certificates.md``), from their summary files."""
    lines = ["# Certificates", "",
             "A stage whose committed runs were made with training code other than HEAD's is kept only "
             "through a certificate: its sample (config `certify`) rerun at HEAD and compared run by run "
             "with the committed runs, or, paired, with the sample rerun at the committed runs' code on "
             "the same machine (difference rerun − committed or baseline: points for accuracies, log10 for "
             "norms and losses, iterations for the stall). Each tolerance is the largest difference of "
             "the same sample run for two CPU targets (`data/certificates/<stage>_envelope.csv`); the "
             "mean difference and its 95% interval show a shift within the tolerance. Made by "
             "`snakemake --cores all certify`; `python -m hdnn.staleness` accepts a certificate whose "
             "rerun digest is HEAD's and whose verdict is not `different`.", ""]
    for path in map(Path, summaries):
        t = pd.read_csv(path)
        r = t.iloc[0]
        lines += [f"## {path.stem}: {r['certificate']}", "",
                  f"Committed runs at training-code digest `{r['runs_digest'][:12]}`, reruns at "
                  f"`{r['rerun_digest'][:12]}` ({r['files'].replace(',', ', ')}) on {r['rerun_machine']}, "
                  f"compared with {compared(r['compared_with'])}"
                  + (f", whose code the certificate {r['baseline_carried_by']} carries the committed runs to"
                     if isinstance(r.get("baseline_carried_by"), str) and r["baseline_carried_by"] else "")
                  + "; per run: "
                  f"[`data/certificates/{path.stem}_runs.csv`](data/certificates/{path.stem}_runs.csv).", "",
                  t[["metric", "scale", "runs", "mean_difference", "ci95_low", "ci95_high",
                     "largest_abs_difference", "tolerance", "verdict"]].to_markdown(index=False, floatfmt=".3g"), ""]
    Path(out_md).write_text("\n".join(lines))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="The envelope behind a stage's tolerances (docs/workflow.md).")
    ap.add_argument("stage", choices=list(STAGES))
    ap.add_argument("runs_a", help="a folder holding the sample's runs for one CPU target, or "
                                   "'committed': the committed runs of the stage (paper/data)")
    ap.add_argument("runs_b", help="the same runs for another target")
    ap.add_argument("--targets", nargs=2, metavar=("A", "B"),
                    help="the two targets' names, where the run records do not tell them apart")
    ap.add_argument("--code", help="the code measured (default: the runs' commits)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    from hdnn.config_check import load_config
    stall = load_config()["figure2"]["stall"]
    committed = ROOT / "paper" / "data" / STAGES[args.stage][0] if args.runs_a == "committed" else None
    paths = [[] if d == "committed" else sorted(Path(d).rglob("metrics.json")) for d in (args.runs_a, args.runs_b)]
    out = args.out or ROOT / "paper" / "data" / "certificates" / f"{args.stage}_envelope.csv"
    table = envelope(args.stage, *paths, out, args.targets, args.code, stall["window"], stall["threshold"],
                     committed_csv=committed)
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The collector: runs → {report_dir}/data/*.csv, the folder replication.md is rendered from.

Per-seed Table 1 and Table 2 rows, each stage's provenance and benchmark files (data/stages/,
gathered in provenance.csv and benchmarks.csv), then the claims tested on them and whatever else
the report shows that is computed: per-seed rows, the checks of the chosen settings, the
protocols' settings (``write_statistics``). One rule per step (workflow/rules/paper.smk); the
report (hdnn.replication) reads nothing else of the runs.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import yaml

from hdnn import calibration as K
from hdnn import claims as C
from hdnn import controls
from hdnn import settings as S
from hdnn.costs import BENCHMARK_COLUMNS, read_benchmarks
from hdnn.runs import CLAIMS_FILE, PROBES, collect_runs, read_data, read_record
from hdnn.selection import best_settings
from hdnn.staleness import ROOT, training_code_digest

# `analysis`: these studies' runs are the pilot, exploratory (the confirmatory runs: hdnn.confirmatory).
TABLE1_RUN_COLUMNS = ["protocol", "dataset", "depth", "arch", "seed_index", "seed", "diverged",
                      "train_acc", "test_acc", "paper_test_acc", "wall_time_s", "analysis"]
TABLE2_RUN_COLUMNS = ["protocol", "column", "arch", "paper_column", "depth", "seed_index", "seed",
                      "diverged", "train_acc", "test_acc", "paper_train_acc", "paper_test_acc",
                      "best_epoch_test_acc_selected_on_test", "wall_time_s", "device", "block_path", "analysis"]
# Written from the per-run files by write_statistics (rule paper_statistics); what each holds:
# workflow/report/replication/data_files.yaml, which the report lists.
STATISTICS_FILES = ("claims.csv", "claim_tests.csv", "calibration.csv", "calibration_cells.csv",
                    "claims_search.csv", "controls.csv", "band_seeds.csv", "fc_seeds.csv", "fc_bias_zeros.csv",
                    "tuned_check.csv", "paper_protocol_check.csv", "table1_settings.csv", "table2_settings.csv")
# The report's stages: the name in data/stages/NAME.csv → the name provenance.csv gives it, and
# the folder of its jobs' benchmark files under {results_dir}/benchmarks/.
STAGES = {"table1": "Table 1", "table1_experiments": "Table 1 experiments", "table1_tuning": "Table 1 tuning",
          "table1_ablation": "Table 1 ablation", "figure2": "Figure 2", "table2": "Table 2",
          "table2_tuning": "Table 2 tuning"}
STAGE_BENCHMARKS = {"table1": "table1", "table1_experiments": "experiments", "table1_tuning": "tuning",
                    "table1_ablation": "ablation", "figure2": "figure2", "table2": "table2",
                    "table2_tuning": "table2_tuning"}


def stage_provenance(stage: str, metrics_paths, train_code: list[str] | None = None,
                     root: Path = ROOT) -> dict:
    """One stage's runs: count, commits, training-code digest (when ``train_code``), wall time
    summed over runs, seeds per cell, devices and package versions."""
    records = [read_record(p) for p in metrics_paths]
    commits = sorted({r.get("git_commit", "unknown") for r in records})
    # Table 2's column, not its arch: MS1 trained with H2's settings is a cell of its own.
    per_cell = Counter((r.get("setting"), r.get("dataset"), r.get("column", r.get("arch")), r.get("depth"))
                       for r in records)
    devices = Counter(r.get("device", "cpu") for r in records)
    versions = sorted({", ".join(f"{k} {v}" for k, v in r.get("versions", {}).items()
                                 if k in ("python", "torch", "numpy", "platform")) for r in records})
    seeds = sorted(set(per_cell.values()))
    return {"stage": stage, "runs": len(records), "commits": " ".join(commits),
            "train_code": ",".join(train_code or []),
            "digest": training_code_digest(commits, train_code, root) if train_code else "",
            "wall_time_s": round(sum(r.get("wall_time_s", 0.0) for r in records), 1),
            "seeds_per_cell": "–".join(map(str, (seeds[0], seeds[-1]) if len(seeds) > 1 else seeds)),
            "devices": ", ".join(f"{d} {n}" for d, n in devices.items()),
            "versions": " | ".join(versions)}


RUN_COLUMNS = {"table1": TABLE1_RUN_COLUMNS, "table2": TABLE2_RUN_COLUMNS}


def write_runs_data(table: str, table_csv: str | Path, out_csv: str | Path) -> None:
    """``out_csv`` ({report_dir}/data/table1_runs.csv or table2_runs.csv) from ``table``'s per-run
    csv (results/tables/table{1,2}.csv); one table at a time, so Table 2 is collected without
    Table 1's runs."""
    df = pd.read_csv(table_csv).assign(analysis="exploratory")
    Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    df.reindex(columns=RUN_COLUMNS[table]).to_csv(out_csv, index=False, float_format="%.6g")


EXPERIMENT_RUN_COLUMNS = ["experiment", "dataset", "depth", "arch", "seed_index", "seed", "diverged",
                          "train_acc", "test_acc", "wall_time_s", "analysis"]


def write_experiment_runs(out_csv: str | Path, metrics_paths) -> None:
    """The Table 1 experiments (and their control arms) per run."""
    df = collect_runs(metrics_paths).rename(columns={"setting": "experiment"}).assign(analysis="exploratory")
    df.reindex(columns=EXPERIMENT_RUN_COLUMNS).to_csv(out_csv, index=False, float_format="%.6g")


def write_stage_data(provenance_csv: str | Path, benchmarks_csv: str | Path, stage: str, metrics_paths,
                     train_code: list[str] | None = None, bench_dir: str | Path | None = None,
                     root: Path = ROOT) -> None:
    """One stage (a key of STAGES): its provenance row (``stage_provenance``; no time of its own,
    so an unchanged stage aggregates to the same bytes) and its jobs' Snakemake benchmark files.
    Each stage is aggregated on its own, so rerunning one stage never needs the others' runs."""
    prov = pd.DataFrame([stage_provenance(STAGES[stage], metrics_paths, train_code, root)])
    Path(provenance_csv).parent.mkdir(parents=True, exist_ok=True)
    prov.to_csv(provenance_csv, index=False)
    bench = read_benchmarks(bench_dir or "")
    bench[bench["stage"] == STAGE_BENCHMARKS[stage]].to_csv(benchmarks_csv, index=False)


def write_provenance(out_dir: str | Path, stage_files, benchmark_files) -> None:
    """``out_dir``/provenance.csv and benchmarks.csv: the stages' files, in STAGES' order."""
    out = Path(out_dir)
    pd.concat([pd.read_csv(f) for f in stage_files], ignore_index=True).to_csv(out / "provenance.csv", index=False)
    pd.concat([pd.read_csv(f) for f in benchmark_files], ignore_index=True).reindex(
        columns=BENCHMARK_COLUMNS).to_csv(out / "benchmarks.csv", index=False)


def write_statistics(data_dir: str | Path, cfg: dict, spec_path: str | Path = CLAIMS_FILE,
                     paper: dict | None = None) -> None:
    """``data_dir``/STATISTICS_FILES from its per-run files, the probes' beside it
    (``data_dir``/../probes/NAME/data, PROBES), the claims' spec (config/claims.yaml) and the config
    (the experiments' control arms, the protocols' settings; chosen files relative to the cwd)."""
    data, spec, layers = Path(data_dir), C.load_spec(spec_path), cfg["figure2"]["layers"]
    t1, t2 = read_data(data, "table1_runs.csv"), read_data(data, "table2_runs.csv")
    summary, tests = C.evaluate(t1, t2, read_data(data, "gradients_summary.csv"), layers, spec, paper)
    boot = spec["calibration"]
    # The pilot's claims: written after their runs (docs/confirmatory.md), so exploratory.
    summary, tests = (f.assign(analysis="exploratory") if not f.empty else f for f in (summary, tests))
    frames = {"claims.csv": summary, "claim_tests.csv": tests,
              "calibration.csv": K.summarize(t1, t2, paper, spec["alpha"], boot["bootstrap_resamples"],
                                             boot["bootstrap_seed"]),
              "calibration_cells.csv": K.cells(t1, t2, paper)}
    frames["claims_search.csv"] = C.robustness(read_data(data, "table1_tuning_runs.csv"), spec)
    exp = read_data(data, "table1_experiments_runs.csv")
    frames["controls.csv"] = controls.effects(
        t1 if t1 is not None else pd.DataFrame(columns=["protocol", *controls.CELL, "test_acc"]),
        exp if exp is not None else pd.DataFrame(columns=["experiment", *controls.CELL, "test_acc"]),
        cfg["experiments"]["runs"])
    for name, frame in frames.items():
        frame.to_csv(data / name, index=False, float_format="%.6g")
    # What the report shows of these as is: full precision, so that it rounds as from the runs.
    grads, fc = read_data(data, "gradients_summary.csv"), spec["claims"]["fc_vanish"]
    zeros = probe(data, "fc_bias_zeros")
    frames = {"band_seeds.csv": C.band_seeds(grads, layers) if grads is not None else pd.DataFrame(columns=["network"]),
              "fc_seeds.csv": C.fc_seeds(grads, layers, fc) if grads is not None else pd.DataFrame(columns=["network"]),
              "fc_bias_zeros.csv": fc_bias_zeros(grads, zeros, layers, fc),
              "tuned_check.csv": tuned_check(read_data(data, "table1_tuning_runs.csv"), cfg["table1"]["tuned"]),
              "paper_protocol_check.csv": paper_protocol_check(probe(data, "paper_protocol_validation"), cfg),
              **settings_tables(cfg)}
    for name, frame in frames.items():
        frame.to_csv(data / name, index=False)


def probe(data: Path, name: str) -> pd.DataFrame | None:
    return read_data(data.parent / "probes" / name / "data", PROBES[name])


def fc_bias_zeros(grads: pd.DataFrame | None, zeros: pd.DataFrame | None, layers, c: dict) -> pd.DataFrame:
    """The FC stall experiment (config/probes/figure2_fc_bias_zeros.yaml) beside the committed runs:
    per network and arm, the claims' per-seed facts summed (empty until the probe has run)."""
    rows = []
    for arm, g in (("biases N(0, 1) (the authors')", grads), ("biases zero", zeros)):
        if grads is None or zeros is None:
            break
        for network, r in C.fc_seeds(g, layers, c).groupby("network", sort=False):
            stall = r["stall_iteration"]
            rows.append({"network": network, "arm": arm, "seeds": len(r), "stall_median": stall.median(),
                         "stall_min": stall.min(), "stall_max": stall.max(),
                         "stall_near_paper": int(r["stall_near_paper"].sum()), "vanished": int(r["vanished"].sum()),
                         "test_acc": r["test_acc"].mean()})
        for network, b in C.band_seeds(g, layers).groupby("network", sort=False):
            acc = g[(g["network"] == network)].drop_duplicates("seed_index")["test_acc"]
            rows.append({"network": network, "arm": arm, "seeds": len(b), "test_acc": acc.mean(),
                         "inside": int(b["inside"].sum()), "max_norm": b["max"].max()})
    return pd.DataFrame(rows, columns=["network", "arm", "seeds", "stall_median", "stall_min", "stall_max",
                                       "stall_near_paper", "vanished", "test_acc", "inside", "max_norm"])


def _label(setting) -> str:
    return ", ".join(f"{k} {v}" for k, v in setting.items())


def tuned_check(search: pd.DataFrame | None, chosen_path: str) -> pd.DataFrame:
    """Does the committed search data (table1_tuning_runs.csv) choose the committed tuned settings
    (``chosen_path``)? Per (data set, arch): both settings and their mean validation accuracies."""
    columns = ["dataset", "arch", "chosen", "chosen_val_acc", "best", "best_val_acc", "same"]
    if search is None or not Path(chosen_path).is_file():
        return pd.DataFrame(columns=columns)
    chosen = yaml.safe_load(Path(chosen_path).read_text())["per_cell"]
    keys = [c for c in search.columns if c not in C.SEARCH_COLUMNS]
    mean, choices = best_settings(search, keys)
    rows = []
    for _, best in choices.iterrows():
        g = mean[(mean["dataset"] == best["dataset"]) & (mean["arch"] == best["arch"])]
        want = {k: chosen.get(best["dataset"], {}).get(best["arch"], {}).get(k) for k in keys}
        mine = g[(g[keys] == pd.Series(want)).all(axis=1)]["mean_val_acc"]
        rows.append({"dataset": best["dataset"], "arch": best["arch"], "chosen": _label(want),
                     "chosen_val_acc": mine.iloc[0] if len(mine) else None, "best": _label(best[keys]),
                     "best_val_acc": best["mean_val_acc"], "same": all(best[k] == want[k] for k in keys)})
    return pd.DataFrame(rows, columns=columns)


def paper_protocol_check(check: pd.DataFrame | None, cfg: dict) -> pd.DataFrame:
    """The probe re-choosing the `paper` protocol's open settings on validation data
    (config/probes/paper_protocol_validation.yaml): per setting, best first, its mean validation
    accuracy over all blocks and cells, whether it is the protocol's, the (data set, arch) it is
    best for, and the probe's seeds. The protocol's setting is a row even where not searched."""
    if check is None:
        return pd.DataFrame(columns=["val_acc", "protocol", "cells", "seeds"])
    keys = [k for k in ("T", "scheme", "input_placement") if k in check]
    paper = S.protocol_settings(cfg, "paper", next(iter(cfg["table1"]["depths"])), cfg["table1"]["archs"][0])
    protocol = tuple(paper[k] for k in keys)
    mean = check.groupby(keys)["val_acc"].mean().sort_values(ascending=False)
    mean = mean.reindex([*mean.index, *([protocol] if protocol not in mean.index else [])])
    _, per_cell = best_settings(check, keys)
    cells = per_cell.groupby(keys).size()
    return mean.reset_index().assign(protocol=[i == protocol for i in mean.index],
                                     cells=[int(cells.get(i, 0)) for i in mean.index],
                                     seeds=check["seed_index"].nunique())


def _values(values) -> str:
    """A setting's value, or its values with their number of cells when they differ."""
    values = [str(v) for v in values]
    counts = Counter(values)
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{v} ({n} of {len(values)})"
                     for v, n in sorted(counts.items(), key=lambda vn: (-vn[1], vn[0])))


TABLE2_SETTINGS = ("h", "weight_decay", "alpha", "lr", "lr_gamma", "epochs", "batch_size", "nf")


def settings_tables(cfg: dict) -> dict[str, pd.DataFrame]:
    """The protocols' settings as the config and its chosen files resolve them: Table 1 per setting
    and protocol over the (data set, arch) pairs (settings sorted; the report orders them), Table 2
    per protocol and column."""
    t1 = cfg["table1"]
    cells = [(d, a) for d in t1["depths"] for a in t1["archs"]]
    per = {p: [S.protocol_settings(cfg, p, d, a) for d, a in cells] for p in S.table1_protocols(cfg)}
    table1 = pd.DataFrame([{"setting": k, **{p: _values(s.get(k) for s in per[p]) for p in per}}
                           for k in sorted({k for p in per for s in per[p] for k in s})])
    rows = []
    for p in S.TABLE2_PROTOCOLS:
        for column in S.table2_columns(cfg):
            s = S.table2_settings(cfg, p, column)
            keys = set(s) - {"subset", "test_subset"}
            rows.append({"protocol": p, "column": column,
                         **{k: s[k] for k in [*(k for k in TABLE2_SETTINGS if k in keys),
                                              *sorted(keys - set(TABLE2_SETTINGS))]}})
    return {"table1_settings.csv": table1, "table2_settings.csv": pd.DataFrame(rows)}

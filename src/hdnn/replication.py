"""paper/replication.md: the paper's claims checked, its tables and figures beside ours.

No number in the report is typed by hand: hdnn.collect (and the confirmatory rules) write
``{report_dir}/data/*.csv``; ``render`` is a pure function of that folder, the config and the
report's prose (PROSE), its first screen hdnn.summary's; tests/test_replication_report.py
rebuilds it from the committed data. Again, no training: ``python -m hdnn.replication paper``.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import pandas as pd
import yaml

from hdnn.config_check import CONFIG_FILES, load_config
from hdnn.costs import sum_per_stage
from hdnn.figure2 import gradients_over_seeds
from hdnn.runs import CLAIMS_FILE, ROOT, paper_values, read_data
from hdnn.staleness import marker
from hdnn.statistics import NO_TEST
from hdnn.summary import section as confirmatory_section
from hdnn.table1 import read_block_params, table1_frames, table1_latex, verdict_counts
from hdnn.table2 import table2_frames, table2_latex

REPORT = "replication.md"
# The report's prose, beside the captions of Snakemake's report (workflow/report/): workflow text
# that the rule replication lists as input, so that editing it renders the page again. Its .md
# files are str.format templates (a literal brace is doubled).
PROSE = ROOT / "workflow" / "report" / "replication"


def _prose(name: str, **fields) -> list[str]:
    """PROSE/``name``.md with ``fields`` filled in, as lines."""
    return (PROSE / f"{name}.md").read_text().format(**fields).rstrip("\n").split("\n")


def _md(df: pd.DataFrame, **kw) -> str:
    """A markdown table; a "|" inside a header or cell is escaped so that it does not split it."""
    esc = lambda v: re.sub(r"(?<!\\)\|", r"\\|", v) if isinstance(v, str) else v  # noqa: E731
    return df.rename(columns=esc).map(esc).to_markdown(index=False, **kw)


def _settings_section(data: Path, cfg: dict) -> list[str]:
    t1, t2, f2 = cfg["table1"], cfg["table2"], cfg["figure2"]
    lines = ["## Settings the paper left open", ""]
    if not (data / "table1_settings.csv").is_file():
        return lines + ["Pending: no paper/data/table1_settings.csv.", ""]
    prose = yaml.safe_load((PROSE / "settings.yaml").read_text())
    # The values as the collector wrote them: strings, some with their share of the cells.
    per = pd.read_csv(data / "table1_settings.csv", dtype=str, keep_default_na=False).set_index("setting")
    says = prose["paper_says"]  # its order, then the others sorted: not the order the config files merged in
    rows = [{"setting": k, "the paper": says.get(k, "not stated"), **{f"`{p}`": per.at[k, p] for p in per.columns}}
            for k in [k for k in says if k in per.index] + sorted(set(per.index) - set(says))]
    t1_text, _, t2_text, _, f2_text = _prose(
        "settings", tuned1=t1["tuned"], pairs=len(t1["depths"]) * len(t1["archs"]), tuned2=t2["tuned"],
        why="; ".join(f"`{p}`, {prose['protocol_why'][p]}" for p in per.columns), seeds=t2["n_seeds"],
        f2_protocol=f2["protocol"], f2_settings=", ".join(f"{k} = {f2['settings'][k]}" for k in sorted(f2["settings"])),
        f2_seeds=f2["n_seeds"], f2_dataset=f2["dataset"], layers=", ".join(map(str, f2["layers"])))
    return lines + [t1_text, "", _md(pd.DataFrame(rows)), "", t2_text, "",
                    _md(read_data(data, "table2_settings.csv").fillna("")), "", f2_text, ""]
    return lines


def _value(claim: str, v) -> str:
    """A claim's estimate or bound as the report prints it: points, a share, or a ratio."""
    if pd.isna(v):
        return "–"
    return f"{v:.1e}" if claim == "lemma3" else f"{v:.2f}" if claim in ("h1_grad_band", "fc_vanish") else f"{v:+.2f}"


def _interval(r) -> str:
    est = _value(r["claim"], r["estimate"])
    if pd.isna(r.get("ci_low")):
        return est
    return f"{est} [{_value(r['claim'], r['ci_low'])}, {_value(r['claim'], r['ci_high'])}]"


def _decided(r) -> str:
    if r["verdict"] == NO_TEST:
        return f"{int(r['units_hold'])} of {int(r['units'])} on the claim's side (points only)"
    return f"{int(r['units_hold'])} / {int(r['units_fail'])} / {int(r['units_inconclusive'])}"


def _to_decide(v) -> str:
    return "" if pd.isna(v) else "> 1000" if v == float("inf") else f"{int(v)}"


def _claim_rows(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "protocol": rows["protocol"], "verdict": [f"**{v}**" for v in rows["verdict"]],
        "estimate [interval], least favourable unit": [f"{_interval(r)}, {r['worst_unit']}" for _, r in rows.iterrows()],
        "margin": [_value(c, m).lstrip("+") for c, m in zip(rows["claim"], rows["margin"])],
        "n": rows["n"].astype(int),
        "units holds / does not / inconclusive": [_decided(r) for _, r in rows.iterrows()],
        "seeds per group to decide": [_to_decide(v) for v in rows.get("seeds_to_decide", pd.Series(dtype=float))
                                      .reindex(rows.index)]})


def _unit_rows(tests: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "protocol": tests["protocol"], "unit": tests["unit"], "test": tests["test"],
        "estimate [interval]": [_interval(r) for _, r in tests.iterrows()],
        "p (for, Holm)": [f"{p:.2g}" if pd.notna(p) else "–" for p in tests.get("p_for_holm", pd.Series(dtype=float)).reindex(tests.index)],
        "p (against, Holm)": [f"{p:.2g}" if pd.notna(p) else "–" for p in tests.get("p_against_holm", pd.Series(dtype=float)).reindex(tests.index)],
        "verdict": tests["verdict"],
        "seeds to decide": [_to_decide(v) for v in tests["seeds_to_decide"]]})


MAX_UNIT_ROWS = 30  # longer unit lists show their undecided and failing units only


def _claims_section(data: Path, spec: dict) -> list[str]:
    claims, tests = read_data(data, "claims.csv"), read_data(data, "claim_tests.csv")
    alpha = spec["alpha"]
    lines = ["## Claims (exploratory: the pilot)", "", *_prose(
        "claims", alpha=f"{alpha:g}", two_sided=f"{100 * (1 - 2 * alpha):g}", one_sided=f"{100 * (1 - alpha):g}"), ""]
    if claims is None or claims.empty:
        return lines + ["Pending: no paper/data/claims.csv (`snakemake --cores all paper`).", ""]
    overview = claims.assign(claim=[spec["claims"][c]["title"] for c in claims["claim"]],
                             verdict=[f"**{v}**" for v in claims["verdict"]])
    overview["estimate [interval]"] = [_interval(r) for _, r in claims.iterrows()]
    lines += [_md(overview[["claim", "protocol", "verdict", "estimate [interval]"]]), ""]
    for i, (claim, rows) in enumerate(claims.groupby("claim", sort=False), 1):
        c = spec["claims"][claim]
        ours = rows[rows["verdict"] != NO_TEST]
        lines += [f"### {i}. {c['title']}", "",
                  "Verdicts: " + "; ".join(f"`{p}` **{v}**" for p, v in zip(ours["protocol"], ours["verdict"])) + ".",
                  "", c["paper"], "",
                  f"*Test* (`{claim}`). Units: {c['unit']}. Statistic: {c['statistic']}. Hypothesis: "
                  f"{c['hypothesis']}. Margin {_value(claim, c['margin']).lstrip('+')}: {c['margin_why']}", "",
                  _md(_claim_rows(rows)), ""]
        units = tests[(tests["claim"] == claim) & (tests["verdict"] != NO_TEST)]
        if len(units) > MAX_UNIT_ROWS:
            shown = units[units["verdict"] != "holds"]
            lines += [f"Units that do not hold or are undecided ({len(shown)} of {len(units)}; all in "
                      "data/claim_tests.csv):", ""]
            units = shown
        if not units.empty:
            lines += [_md(_unit_rows(units)), ""]
        seeds = read_data(data, f"{'band' if claim == 'h1_grad_band' else 'fc'}_seeds.csv")
        if claim not in ("h1_grad_band", "fc_vanish") or seeds is None or seeds.empty:
            continue
        if claim == "h1_grad_band":
            lines += ["Per seed, min and max over training and the plotted ℓ:", "",
                      _md(seeds.round({"min": 3, "max": 2})), ""]
        else:
            lines += ["Per seed (`min`: the norm at the first plotted ℓ; test accuracy in %):", "",
                      _md(seeds.assign(min=[f"{v:.1e}" for v in seeds["min"]], test_acc=(100 * seeds["test_acc"]).round(1))),
                      "", *_fc_experiment(read_data(data, "fc_bias_zeros.csv"))]
    return lines


def _fc_experiment(arms: pd.DataFrame | None) -> list[str]:
    """The FC stall experiment beside the committed runs, per network and arm (data/fc_bias_zeros.csv)."""
    what, purpose = _prose("fc_bias_zeros")
    if arms is None or arms.empty:
        return [f"{what} ", "", "Pending: no paper/probes/fc_bias_zeros/data/gradients_summary.csv.", ""]
    rows = []
    for _, r in arms.iterrows():
        row, n = {"network": r["network"], "arm": r["arm"], "seeds": r["seeds"]}, r["seeds"]
        if pd.notna(r["stall_median"]):
            row |= {"stall iteration, median (range)": f"{r['stall_median']:g} ({r['stall_min']:g}–{r['stall_max']:g})",
                    "stall within ×2 of 200": f"{int(r['stall_near_paper'])}/{n}",
                    "vanished": f"{int(r['vanished'])}/{n}"}
        else:
            row |= {"in the paper's band": f"{int(r['inside'])}/{n}", "max norm (max over seeds)": round(r["max_norm"], 1)}
        rows.append(row | {"test acc. % (mean)": round(100 * r["test_acc"], 1)})
    return [f"{what} {purpose}", "", _md(pd.DataFrame(rows).astype(object).fillna("")), ""]


def _calibration_section(cal: pd.DataFrame | None) -> list[str]:
    lines = ["## Calibration: our seeds against the paper's single runs", ""]
    if cal is None or cal.empty:
        return lines + ["Pending: no paper/data/calibration.csv.", ""]
    lines += [*_prose("calibration"), ""]
    for _, r in cal.iterrows():
        lines += [f"- **{r['table']}, `{r['protocol']}`**: {r['verdict']}."]
    shown = cal.drop(columns="verdict").round({c: 2 for c in ("expected_outside", "mean_rank", "shift",
                                                               "shift_ci_low", "shift_ci_high")})
    shown[["p_outside", "p_sign"]] = shown[["p_outside", "p_sign"]].map(lambda p: f"{p:.2g}")
    return lines + ["", _md(shown), "", "![calibration](figures/calibration_ranks.png)", ""]


def _robustness_section(search: pd.DataFrame | None) -> list[str]:
    lines = ["## The Table 1 claims over the settings searched (validation data)", ""]
    if search is None or search.empty:
        return lines + ["Pending: no paper/data/claims_search.csv (the tuning search's runs, "
                        "`snakemake --cores all tuning`, then `paper`).", ""]
    share = (search.groupby(["claim", "verdict"], sort=False).size().unstack(fill_value=0)
             .reindex(columns=["holds", "does not hold", "inconclusive"], fill_value=0))
    share.insert(0, "settings", share.sum(axis=1))
    return lines + [*_prose("robustness", seeds=int(search["n"].min())), "", _md(share.reset_index()), ""]


def _tuned_check(data: Path, cfg: dict) -> list[str]:
    """Does the committed search data choose the committed tuned settings (data/tuned_check.csv)?"""
    check = read_data(data, "tuned_check.csv")
    if check is None or check.empty:
        return []
    commits = read_data(data, "stages/table1_tuning.csv")
    made = f" (commits {commits['commits'].iloc[0]})" if commits is not None else ""
    first, differs = _prose("tuned_check", made=made, chosen=cfg["table1"]["tuned"],
                            same=int(check["same"].sum()), cells=len(check))
    rows = check[~check["same"]]
    if rows.empty:
        return [first, ""]
    return [f"{first} {differs}", "", _md(pd.DataFrame({
        "data set": rows["dataset"], "arch": rows["arch"], "committed choice": rows["chosen"],
        "mean val. acc. %": [round(100 * v, 2) if pd.notna(v) else "–" for v in rows["chosen_val_acc"]],
        "best in the data": rows["best"], "its mean val. acc. %": [round(100 * v, 2) for v in rows["best_val_acc"]]})),
        ""]


def _history_section(data: Path, cfg: dict) -> list[str]:
    lines = ["## History of the protocols", "", *_prose("history"), "", *_tuned_check(data, cfg)]
    check = read_data(data, "paper_protocol_check.csv")
    if check is None or check.empty:
        return lines + ["*Check, pending*: the `paper` protocol's open settings re-chosen on "
                        "validation data (config/probes/paper_protocol_validation.yaml).", ""]
    keys = list(check.columns[:-4])  # the setting's columns, then val_acc, protocol, cells, seeds
    label = lambda r: ", ".join(f"{k} {r[k]}" for k in keys)  # noqa: E731
    best, protocol = check.iloc[0], check[check["protocol"]].iloc[0]
    verdict = "the same as the protocol's" if best["protocol"] else f"different from the protocol's ({label(protocol)})"
    searched = check.dropna(subset=["val_acc"])
    return lines + [*_prose("paper_protocol_check", seeds=check["seeds"].iloc[0], best=label(best), verdict=verdict,
                            same=protocol["cells"], cells=check["cells"].sum()), "",
                    _md(searched[keys].assign(**{"mean val. acc. %": (searched["val_acc"] * 100).round(2)})), ""]


def _controls_section(ctrl: pd.DataFrame | None) -> list[str]:
    lines = ["## Control arms of the Table 1 experiments", ""]
    if ctrl is None or ctrl.empty:
        return lines + ["Pending: no paper/data/controls.csv (the experiments' runs, then `paper`).", ""]
    def ci(prefix: str, est: str) -> list[str]:
        return [f"{r[est]:+.2f} [{r[prefix + '_ci_low']:+.2f}, {r[prefix + '_ci_high']:+.2f}]"
                for _, r in ctrl.iterrows()]
    shown = pd.DataFrame({
        "experiment": ctrl["experiment"], "protocol": ctrl["protocol"], "change": ctrl["change"],
        "off cells": ctrl["off_cells"], "effect on off cells": ci("off", "off_effect"),
        "control cells": ctrl["control_cells"], "effect on control cells": ci("control", "control_effect"),
        "off − control": ci("difference", "difference")})
    specific = ctrl[(ctrl["difference_ci_low"] > 0) | (ctrl["difference_ci_high"] < 0)]["experiment"]
    return lines + [*_prose("controls", specific=(
        f"Specific to the off cells: {', '.join(f'`{e}`' for e in specific)}; the others move both "
        "arms alike, or the data cannot tell." if len(specific) else
        "No experiment's effect is shown to be specific to the off cells.")), "", _md(shown), ""]


def _figure1_lines(grids: list[pd.DataFrame], runs: pd.DataFrame | None) -> list[str]:
    """Figure 1 and where its networks come from (figure1_*.csv.gz), beside the Table 1 runs of its seeds."""
    lines = ["Figure 1: decision regions of H1 with the test points.", ""]
    if grids and "commit" in grids[0]:
        first = grids[0].iloc[0]
        accs = []
        for g in grids:
            r, test = g.iloc[0], g[g["kind"] == "test"]
            same = pd.DataFrame() if runs is None else runs[
                (runs["protocol"] == r["protocol"]) & (runs["dataset"] == r["dataset"])
                & (runs["arch"] == r["arch"]) & (runs["depth"] == r["depth"]) & (runs["seed_index"] == r["seed_index"])]
            committed = f" (the committed run: {100 * same['test_acc'].iloc[0]:.2f}%)" if len(same) else ""
            accs.append(f"{r['dataset']} {100 * test['correct'].mean():.2f}%{committed}")
        lines = [*_prose("figure1", arch=first["arch"], protocol=first["protocol"], seed=int(first["seed_index"]),
                         commit=str(first["commit"])[:7], platform=first["platform"], accs="; ".join(accs)), ""]
    return lines + ["![figure1](figures/figure1.png)", ""]


def _table1_section(cells: pd.DataFrame | None, runs: pd.DataFrame | None, figure1: list[str],
                    params: dict[str, int]) -> tuple[list[str], str]:
    if cells is None:
        return ["## Table 1", "", "Pending: no paper/data/table1_cells.csv.", ""], ""
    counts = verdict_counts(cells)
    dev = (cells.assign(d=(cells["mean"] - cells["paper"]).abs())
           .groupby("protocol", sort=False)["d"].agg(["mean", "max"]))
    counts = counts.assign(**{"mean |ours − paper|": dev["mean"].round(2), "max": dev["max"].round(1)})
    if runs is not None:
        counts["training min"] = (runs.groupby("protocol", sort=False)["wall_time_s"].sum() / 60).round(1)
    lines = ["## Table 1: test accuracy (%), nf = 4", "",
             *_prose("table1"), "",              _md(counts.reset_index()), ""]
    frames = table1_frames(cells, params)
    for protocol, wide in frames.items():
        lines += [f"### Protocol `{protocol}`", "", _md(wide.reset_index()), "",
                  f"![table1 {protocol}](figures/table1_{protocol}.png)", ""]
    return lines + figure1, table1_latex(frames)


def _table2_section(runs: pd.DataFrame | None, paper: dict, cfg: dict,
                    prov: pd.DataFrame | None) -> tuple[list[str], str]:
    lines = ["## Table 2: MNIST train / test accuracy (%)", ""]
    if runs is None:
        t2 = paper["table2"]
        wide = pd.DataFrame([{"layers": d, **{f"{a} {s}": t2[a].get(d, {}).get(s) for a in t2 for s in ("train", "test")}}
                             for d in sorted({d for per in t2.values() for d in per})])
        return lines + [_prose("table2")[1], "", _md(wide), ""], ""
    frames = table2_frames(runs)
    lines += [_prose("table2")[0], ""]
    for protocol, wide in frames.items():
        lines += [f"### Protocol `{protocol}`", "", _md(wide.reset_index()), ""]
    lines += ["![table2](figures/table2_seeds.png)", ""]
    if "tuned" not in frames:  # say how far its search has come
        tu = cfg["table2"]["tuning"]
        planned = (math.prod(len(v) for v in tu["grid"].values()) * len(cfg["table2"]["archs"]) * len(tu["depths"])
                   * tu["n_seeds"])  # the grid's settings (hdnn.settings.tuning_grid) × the runs of each
        done = prov.loc[prov["stage"] == "Table 2 tuning", "runs"].sum() if prov is not None else 0
        lines += ["### Protocol `tuned`", "",
                  *_prose("table2_tuned_pending", done=done, planned=planned, tuned2=cfg["table2"]["tuned"]), ""]
    return lines, table2_latex(frames)


def _figure2_section(grads: pd.DataFrame | None, layers) -> list[str]:
    lines = ["## Figure 2: gradient norms ‖∂y_N/∂y_ℓ‖₂ during training", ""]
    if grads is None:
        return lines + ["Pending: no paper/data/gradients_summary.csv.", ""]
    return lines + [*_prose("figure2"), "", _md(gradients_over_seeds(grads, layers)), "",
                    "![figure2](figures/figure2.png)", "", "![eigenvalues](figures/eigenvalues.png)", ""]


def _provenance_section(data: Path, cfg: dict, prov: pd.DataFrame | None) -> list[str]:
    bench = read_data(data, "benchmarks.csv")
    lines = ["## Provenance", ""]
    if prov is None:
        return lines + ["Pending: no paper/data/provenance.csv.", ""]
    stages = pd.DataFrame({"stage": prov["stage"], "runs": prov["runs"],
                           "training min (summed over runs)": (prov["wall_time_s"] / 60).round(1),
                           "seeds per cell": prov["seeds_per_cell"], "devices": prov["devices"],
                           "commits": [" ".join(c[:7] for c in str(cs).split()) for cs in prov["commits"]]})
    versions = sorted({v for vs in prov["versions"].dropna() for v in vs.split(" | ")})
    seeds, certificates = _prose("provenance", base_seed=cfg["base_seed"])
    lines += [seeds, "", _md(stages), "", f"Versions and machine: {'; '.join(versions)}.", ""]
    if bench is None or bench.empty:
        lines += [f"Benchmarks: no Snakemake benchmark files under {cfg['results_dir']}/benchmarks/.", ""]
    else:
        lines += ["Benchmarks (Snakemake's `benchmark:` files, summed per stage; seconds, MiB):", "",
                  _md(sum_per_stage(bench), floatfmt=".1f"), ""]
    lines += ["Data files: " + "; ".join(f"[`data/{n}`](data/{n}): {what}" for n, what in yaml.safe_load(
        (PROSE / "data_files.yaml").read_text()).items() if (data / n).is_file()) + ".", ""]
    # The staleness check (hdnn.staleness) reads these: one per stage with training code.
    for _, r in prov[prov["digest"].notna() & (prov["digest"] != "")].iterrows():
        lines += [f"{r['stage']}: training code {', '.join(f'`{f}`' for f in r['train_code'].split(','))}.", "",
                  marker(r["digest"], r["train_code"].split(",")), ""]
    return lines + [certificates, ""]


def render(data_dir: str | Path, cfg: dict, paper: dict | None = None) -> dict[str, str]:
    """The report and LaTeX tables (paths relative to the report's folder → text), from
    ``data_dir`` (paper/data), the config and PROSE only. Missing data make their section pending."""
    data, paper = Path(data_dir), paper or paper_values()
    t1_cells, t1_runs = read_data(data, "table1_cells.csv"), read_data(data, "table1_runs.csv")
    t2_runs, grads = read_data(data, "table2_runs.csv"), read_data(data, "gradients_summary.csv")
    prov = read_data(data, "provenance.csv")
    grids = [g for d in cfg["figure1"]["cells"] if (g := read_data(data, f"figure1_{d}.csv.gz")) is not None]
    table1, tex1 = _table1_section(t1_cells, t1_runs, _figure1_lines(grids, t1_runs),
                                   read_block_params(data / "block_params.csv"))
    table2, tex2 = _table2_section(t2_runs, paper, cfg, prov)
    rd = cfg["report_dir"]
    intro = _prose("intro", rd=rd, tuned1=cfg["table1"]["tuned"], tuned2=cfg["table2"]["tuned"])
    protocol = yaml.safe_load((ROOT / cfg["confirmatory"]).read_text())
    lines = [*intro[:3], "", *confirmatory_section(data, protocol, _prose), *intro[4:], "",
             *_claims_section(data, yaml.safe_load(CLAIMS_FILE.read_text())),
             *_robustness_section(read_data(data, "claims_search.csv")),
             *_calibration_section(read_data(data, "calibration.csv")), *_history_section(data, cfg),
             *_controls_section(read_data(data, "controls.csv")),
             *table1, *table2, *_figure2_section(grads, cfg["figure2"]["layers"]),
             *_settings_section(data, cfg), *_provenance_section(data, cfg, prov)]
    out = {REPORT: "\n".join(lines)}
    for name, tex in (("tables/table1.tex", tex1), ("tables/table2.tex", tex2)):
        if tex:
            out[name] = tex
    return out


def write_replication(report_dir: str | Path, cfg: dict) -> list[Path]:
    """Render ``report_dir``/data into ``report_dir``; the files written."""
    written = []
    for name, text in render(Path(report_dir) / "data", cfg).items():
        path = Path(report_dir) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="replication.md and the LaTeX tables from the report folder's data/.")
    ap.add_argument("report_dir", nargs="?", default="paper")
    ap.add_argument("--configfile", nargs="*", default=list(CONFIG_FILES),
                    help="config files, merged in order, relative to the repository root")
    args = ap.parse_args(argv)
    for path in write_replication(args.report_dir, load_config(ROOT, args.configfile)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

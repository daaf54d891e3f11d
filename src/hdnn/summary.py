"""The report's first screen: each claim's confirmatory verdict, the pilot's beside it, the forest
plot, and the check that every confirmatory run was made under the landed protocol. Renders
``{report_dir}/data`` (confirmatory_*.csv, power.csv) and the protocol file; computes nothing.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from hdnn.confirmatory import DATA_FILES, read_records
from hdnn.runs import read_data
from hdnn.staleness import marker

# hdnn.endpoints.NOT_RUN and INCOMPLETE (that module needs scipy; this one renders only)
NO_VERDICT = ("not run yet", "incomplete")


def _quote(text: str) -> str:
    """The paper's words inside a claim's ``paper`` entry."""
    found = re.search(r'"(.+?)"', text)
    return found.group(1) if found else text


def _number(v, share: bool) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2f}" if share else f"{v:+.2f}"


def _result(r: pd.Series) -> str:
    """verdict, estimate [interval] (n seeds)"""
    if r["verdict"] in NO_VERDICT:
        return r["verdict"]
    share = r["test"] == "proportion"
    n = f"{int(r['k'])}/{int(r['n'])} seeds" if share else f"{int(r['n'])} seeds per cell"
    return (f"**{r['verdict']}** {_number(r['estimate'], share)} "
            f"[{_number(r['ci_low'], share)}, {_number(r['ci_high'], share)}], {n}")


def _margin(r: pd.Series) -> str:
    m = r["margin"]
    return {"noninferiority": f"> −{m:g}", "superiority": f"> {m:g}", "equivalence": f"within ±{m:g}",
            "proportion": f"share > {m:g}"}[r["test"]]


def _summary_table(ep: pd.DataFrame, protocol: dict, power: pd.DataFrame | None) -> str:
    conf = ep[ep["analysis"] == "confirmatory"].set_index(["claim", "level"])
    pilot = ep[ep["analysis"] == "exploratory"].set_index(["claim", "level"])
    planned = ({} if power is None else
               power[power["level"] == "primary"].set_index("claim")["power_at_chosen"].to_dict())
    rows = []
    for claim in protocol["multiplicity"]["family"]:
        c, p = conf.loc[(claim, "primary")], pilot.loc[(claim, "primary")]
        note = ""
        if c["verdict"] == "inconclusive" and planned.get(claim, 0) >= protocol["power"]["target"]:
            note = f" (planned power {planned[claim]:.2f}: expected decidable)"
        rows.append({"claim": f"{claim}: “{_quote(protocol['claims'][claim]['paper'])}”",
                     "endpoint (protocol)": f"{c['table']}, {c['test']} {_margin(c)} ({c['protocol']})",
                     "confirmatory (Holm over the 8)": _result(c) + note,
                     "pilot, same test (exploratory)": _result(p)})
    return pd.DataFrame(rows).to_markdown(index=False)


def _secondary_table(ep: pd.DataFrame) -> str:
    sec = ep[ep["level"] == "secondary"]
    rows = [{"claim": claim, "protocol": g["protocol"].iloc[0], "margin": _margin(g.iloc[0]),
             **{("confirmatory" if a == "confirmatory" else "pilot (exploratory)"): _result(r)
                for a, r in zip(g["analysis"], (row for _, row in g.iterrows()))}}
            for claim, g in sec.groupby("claim", sort=False)]
    return pd.DataFrame(rows).to_markdown(index=False)


def _units_table(units: pd.DataFrame) -> str:
    counts = units.groupby(["claim", "protocol"], sort=False)["verdict"].value_counts().unstack(fill_value=0)
    return counts.reindex(columns=["holds", "does not hold", "inconclusive"], fill_value=0).reset_index().to_markdown(index=False)


def _sensitivity_table(sens: pd.DataFrame) -> str:
    s = sens[sens["analysis"] == "confirmatory"]
    wide = s.pivot_table(index=["claim", "level", "protocol"], columns="margin_scale", values="verdict",
                         aggfunc="first", sort=False)
    wide.columns = [f"{m:g}× margin" for m in wide.columns]
    return wide.reset_index().to_markdown(index=False)


def _controls_table(ctrl: pd.DataFrame) -> str:
    rows = [{"experiment": name, "protocol": g["protocol"].iloc[0], "cells": len(g),
             "mean effect (points)": f"{g['effect'].mean():+.2f}",
             "cells' intervals": f"{g['ci_low'].min():+.2f} … {g['ci_high'].max():+.2f}",
             "cells whose interval excludes 0": int(((g["ci_low"] > 0) | (g["ci_high"] < 0)).sum())}
            for name, g in ctrl.groupby("experiment", sort=False)]
    return pd.DataFrame(rows).to_markdown(index=False)


def _check_line(check: pd.DataFrame, runs: pd.DataFrame, check_files: list[str]) -> str:
    ok = check[check["check"] == "ok"]
    bad = check[check["check"] != "ok"]
    commits = ", ".join(sorted({c[:7] for c in ok["git_commit"]}))
    line = (f"Record check: {int(ok['runs'].sum())} of {len(runs)} confirmatory runs carry the protocol's "
            f"sha256 ({ok['confirmatory_sha256'].iloc[0][:12]}…), were made at clean commits ({commits}) "
            f"that hold that same file, and descend from its landing commit "
            f"{check['landing_commit'].iloc[0][:7]}" if len(ok) else "Record check: no run passes")
    if len(bad):
        line += f"; excluded: {int(bad['runs'].sum())} runs ({'; '.join(bad['check'])})"
    line += ". " + ", ".join(f"[`data/{name}`](data/{name})" for name in check_files)
    # The runs' training code, which `python -m hdnn.staleness` compares with HEAD's.
    return "\n\n".join([line] + [marker(d, files.split(",")) for d, files in
                                  ok[["train_code_digest", "train_code"]].drop_duplicates().itertuples(index=False)])


def _lemma3_line(lemma3: pd.DataFrame | None) -> str:
    if lemma3 is None or lemma3.empty:
        return "Lemma 3: no time-invariant H1 seeds collected yet."
    worst = lemma3["lemma3_ratio"].max()
    return (f"Lemma 3, a sanity check outside the family (it cannot fail for any weights: "
            f"docs/confirmatory.md): max |Re λ| / max |λ| ≤ {worst:.1e} over {len(lemma3)} seeds of "
            f"{', '.join(lemma3['network'].unique())} at every test point "
            f"({'passes' if worst < 1e-6 else 'FAILS: a bug in the network or the eigenvalue code'}; "
            f"[`data/confirmatory_lemma3.csv`](data/confirmatory_lemma3.csv)).")


def section(data: Path, protocol: dict, prose) -> list[str]:
    """The first screen, or a line saying the confirmatory runs have not been collected yet."""
    ep, sens = read_data(data, "confirmatory_endpoints.csv"), read_data(data, "confirmatory_sensitivity.csv")
    if ep is None or sens is None:
        return ["## Summary: the confirmatory verdicts", "", *prose("confirmatory_pending"), ""]
    runs, check = read_records(data)
    ctrl, units = read_data(data, "confirmatory_controls.csv"), read_data(data, "confirmatory_units.csv")
    counts = runs.groupby("group").size().to_dict()
    return ["## Summary: the confirmatory verdicts", "",
            *prose("confirmatory", runs=len(runs), table1=counts.get("table1", 0),
                   control=counts.get("control", 0), figure2=counts.get("figure2", 0),
                   table2=counts.get("table2", 0), seeds_t2=protocol["n_seeds"]["table2"],
                   seeds1=protocol["n_seeds"]["table1"], seeds2=protocol["n_seeds"]["figure2"],
                   seeds_control=protocol["n_seeds"]["control"]), "",
            _summary_table(ep, protocol, read_data(data, "power.csv")), "",
            "![confirmatory forest plot](figures/confirmatory_forest.png)", "",
            _check_line(check, runs, [name for _, name in DATA_FILES if (data / name).is_file()]), "",
            _lemma3_line(read_data(data, "confirmatory_lemma3.csv")), "",
            "### Secondary protocols (Holm within a claim: one endpoint each, at α)", "",
            _secondary_table(ep), "",
            "### Secondary units: each pair or row at the endpoint's margin, Holm within claim and protocol", "",
            *([_units_table(units), "", "Every unit with its interval: [`data/confirmatory_units.csv`](data/confirmatory_units.csv). "
               "Most units were expected to stay inconclusive at these seeds (paper/data/power.csv, level secondary).", ""]
              if units is not None and len(units) else ["No unit tests yet.", ""]),
            "### Sensitivity: every verdict at ½×, 1× and 2× its margin (confirmatory runs)", "",
            _sensitivity_table(sens), "",
            "### The control design: each experiment's change beside an unchanged rerun (descriptive)", "",
            *prose("confirmatory_controls"), "",
            _controls_table(ctrl) if ctrl is not None and len(ctrl) else "No control runs collected yet.", ""]

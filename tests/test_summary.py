"""The report's first screen (hdnn.summary) from confirmatory data: the verdicts, the pilot's
beside them, the forest plot, the record check."""

import pandas as pd

from hdnn import confirmatory as CF
from hdnn import endpoints as E
from hdnn.replication import _prose
from hdnn.runs import ROOT
from hdnn.summary import section

DATA = ROOT / "paper" / "data"
LAYERS = [1, 11, 21, 31, 41, 51, 61]


def test_the_first_screen_gives_every_claims_verdict(tmp_path):
    protocol = CF.load()
    pilot = {"table1": pd.read_csv(DATA / "table1_runs.csv"), "table2": pd.read_csv(DATA / "table2_runs.csv"),
             "figure2": pd.read_csv(DATA / "gradients_summary.csv")}
    # The pilot's runs stand in for confirmatory ones: fewer seeds than planned, so plan none.
    as_run = {**protocol, "n_seeds": {group: 1 for group in protocol["n_seeds"]}}
    conf, sens = E.analyse(as_run, {**pilot, "table2": None}, LAYERS, "confirmatory")
    expl, sens2 = E.analyse(protocol, pilot, LAYERS, "exploratory")
    pd.concat([conf, expl]).to_csv(tmp_path / "confirmatory_endpoints.csv", index=False)
    pd.concat([sens, sens2]).to_csv(tmp_path / "confirmatory_sensitivity.csv", index=False)
    pd.DataFrame({"group": ["table1"] * 3, "git_commit": ["abc1234"] * 3}).to_csv(tmp_path / "confirmatory_runs.csv", index=False)
    pd.DataFrame([{"git_commit": "abc1234", "confirmatory_sha256": "f" * 64, "landing_commit": "4d436ca",
                   "runs": 3, "check": "ok", "train_code": "src/hdnn/train.py", "train_code_digest": "d" * 64}]).to_csv(tmp_path / "confirmatory_check.csv", index=False)
    pd.read_csv(DATA / "power.csv").to_csv(tmp_path / "power.csv", index=False)
    text = "\n".join(section(tmp_path, protocol, _prose))
    for claim in protocol["multiplicity"]["family"]:
        assert f"| {claim}:" in text
    assert "![confirmatory forest plot](figures/confirmatory_forest.png)" in text
    assert "3 of 3 confirmatory runs" in text and "landing commit 4d436ca" in text
    assert f"<!-- training-code sha256={'d' * 64} files=src/hdnn/train.py -->" in text   # hdnn.staleness reads it
    assert text.count(E.NOT_RUN) >= 2          # Table 2's endpoints, before their runs
    # The pilot's h1_grad_band (4 of 10 seeds) is inconclusive where 20 seeds were planned at power 0.92.
    assert "(planned power 0.92: expected decidable)" in text


def test_without_confirmatory_data_the_screen_says_so(tmp_path):
    text = "\n".join(section(tmp_path, CF.load(), _prose))
    assert "have not been collected yet" in text

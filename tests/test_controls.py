"""hdnn.controls: the committed control arms follow the stated rule; effects on constructed runs."""

import numpy as np
import pandas as pd
import yaml

from hdnn import controls
from hdnn.staleness import ROOT


def test_committed_control_arms_follow_the_rule():
    runs = yaml.safe_load((ROOT / "config" / "experiments_table1.yaml").read_text())["experiments"]["runs"]
    cells = pd.read_csv(ROOT / "paper" / "data" / "table1_cells.csv")
    arms = {r["control_of"]: (name, r) for name, r in runs.items() if "control_of" in r}
    experiments = {name: r for name, r in runs.items() if "control_of" not in r}
    assert set(arms) == set(experiments)                       # every experiment has one
    for name, run in experiments.items():
        _, arm = arms[name]
        assert (arm["protocol"], arm["settings"]) == (run["protocol"], run["settings"])
        assert arm["cells"] == controls.control_cells(cells, run["protocol"], controls.n_cells(run["cells"]))
        off = cells[(cells.protocol == run["protocol"]) & (cells.verdict == "off")]
        for dataset, per_arch in arm["cells"].items():        # never an off cell
            for arch, depths in per_arch.items():
                assert not off[(off.dataset == dataset) & (off.arch == arch) & off.depth.isin(depths)].shape[0]


def runs(cells, shift, seeds=5, experiment=None, protocol="p"):
    rng = np.random.default_rng(len(cells) + int(10 * shift))
    rows = [{"dataset": "swiss_roll", "depth": d, "arch": "H1", "seed_index": i,
             "test_acc": (80 + shift + rng.normal(0, 1)) / 100} for d in cells for i in range(seeds)]
    df = pd.DataFrame(rows)
    return df.assign(experiment=experiment) if experiment else df.assign(protocol=protocol)


def test_effects_tell_a_specific_change_from_a_general_one():
    cfg = {"e": {"protocol": "p", "settings": {"epochs": 9}}, "e_control": {"protocol": "p", "settings": {"epochs": 9},
                                                                        "control_of": "e"}}
    base = runs(range(1, 21), 0.0)
    specific = pd.concat([runs(range(1, 11), 5.0, experiment="e"), runs(range(11, 21), 0.0, experiment="e_control")])
    row = controls.effects(base, specific, cfg).iloc[0]
    assert row["off_effect"] > 3 and abs(row["control_effect"]) < 1.5 and row["difference_ci_low"] > 0
    general = pd.concat([runs(range(1, 11), 5.0, experiment="e"), runs(range(11, 21), 5.0, experiment="e_control")])
    row = controls.effects(base, general, cfg).iloc[0]
    assert row["difference_ci_low"] < 0 < row["difference_ci_high"]
    assert controls.effects(base, general, {"e": cfg["e"]}).empty       # no control arm, no row

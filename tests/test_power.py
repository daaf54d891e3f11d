"""hdnn.power against statsmodels and closed forms, and config/confirmatory.yaml against it:
its seeds are what the power analysis of the committed pilot data gives, its margins come from
the paper's own tables, and its seed namespace is disjoint from every study used so far."""

import math
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats
from statsmodels.stats.power import TTestIndPower
from statsmodels.stats.proportion import proportion_confint

from hdnn import power as P
from hdnn import settings
from hdnn.provenance import derive_seed
from hdnn.runs import ROOT, paper_values

CFG = yaml.safe_load(P.CONFIG.read_text())


@pytest.fixture(scope="module")
def computed():
    return P.table(CFG)


def test_two_group_contrast_is_statsmodels_two_sample_t():
    # w = (1, −1), equal spreads: Welch–Satterthwaite df = 2(n − 1), the pooled t test's.
    assert P.welch_df([1, -1], [2.0, 2.0], 10) == pytest.approx(18)
    for n, m in [(10, 1.0), (26, 0.8), (7, 3.0)]:
        ours = P.power_t("noninferiority", m, [1, -1], [2.0, 2.0], n, 0.05)
        ref = TTestIndPower().power(effect_size=m / 2.0, nobs1=n, alpha=0.05, ratio=1, alternative="larger")
        assert ours == pytest.approx(ref, rel=1e-10)
    assert P.power_t("noninferiority", 1.0, [1, -1], [1.0, 1.0], 10, 0.05) == pytest.approx(0.6936, abs=1e-4)


def test_welch_df_by_hand():
    # variances w²σ² = 0.25·4 = 1 and 0.25·16 = 4: (1 + 4)² (n − 1) / (1 + 16)
    assert P.welch_df([0.5, -0.5], [2.0, 4.0], 5) == pytest.approx(25 * 4 / 17)
    assert P.contrast_sd([0.5, -0.5], [2.0, 4.0]) == pytest.approx(math.sqrt(5))


def test_superiority_and_equivalence_from_the_one_sided_power():
    w, sd, n, a = [1, -1], [1.0, 1.0], 12, 0.01
    one = P.power_t("noninferiority", 1.5, w, sd, n, a)
    assert P.power_t("superiority", 0.5, w, sd, n, a, true=2.0) == pytest.approx(one)
    assert P.power_t("equivalence", 1.5, w, sd, n, a) == pytest.approx(2 * one - 1)   # 0.736
    assert P.power_t("equivalence", 0.7, w, sd, n, a) == 0.0                          # 2·0.24 − 1 < 0
    # Known-variance limit: 2Φ(m/se − z) − 1.
    big = P.power_t("equivalence", 0.2, w, sd, 5000, a)
    assert big == pytest.approx(2 * stats.norm.cdf(0.2 / math.sqrt(2 / 5000) - stats.norm.isf(a)) - 1, abs=1e-3)


def test_proportion_power_is_the_clopper_pearson_decision():
    p0, a = 0.5, 0.05 / 8
    for n in range(5, 40):
        k = np.arange(n + 1)
        lower = proportion_confint(k, n, alpha=2 * a, method="beta")[0]
        decided = k[lower > p0]
        exact = k[stats.binom.sf(k - 1, n, p0) <= a]
        assert decided.tolist() == exact.tolist()
    assert P.power_proportion(20, 0.5, 0.9, 0.05 / 8) == pytest.approx(0.9568, abs=1e-4)
    assert P.power_proportion(7, 0.5, 0.9, 0.05 / 8) == 0.0   # 7 of 7 is not below α/8


def test_seeds_needed_waits_out_the_saw_tooth():
    pw = lambda n: P.power_proportion(n, 0.5, 0.9, 0.05 / 8)  # noqa: E731
    assert pw(15) >= 0.8 > pw(16)           # 15 reaches it, 16 falls back
    assert P.seeds_needed(pw, 0.8) == 18


def test_config_seeds_are_the_power_analysis(computed):
    df, pl = computed
    for t in ("table1", "table2", "figure2"):
        assert CFG["n_seeds"][t] == pl["n_seeds"][t], t
    assert pl["fits"] and pl["total_core_minutes"] <= CFG["budget"]["core_minutes"]
    assert CFG["expected_inconclusive"]["primary"] == pl["inconclusive"]
    prim = df[df["level"] == "primary"]
    assert (prim["power_at_chosen"] >= CFG["power"]["target"]).all()
    assert set(prim["claim"]) == set(CFG["multiplicity"]["family"])


def test_committed_power_csv_is_regenerated(computed):
    df, _ = computed
    committed = pd.read_csv(ROOT / "paper" / "data" / "power.csv")
    fresh = df.round(6)
    assert list(committed.columns) == list(fresh.columns)
    pd.testing.assert_frame_equal(committed, fresh.reset_index(drop=True), check_dtype=False, atol=1e-6)


def test_margins_come_from_the_papers_tables():
    pv = paper_values()
    claims = CFG["claims"]
    rows = [r for per in pv["table1"].values() if isinstance(per, dict) for r in per.values() if isinstance(r, dict)]
    deficit = max(r[m] - r[h] for r in rows for h in ("H1", "H2") for m in ("MS1", "MS2", "MS3"))
    assert claims["h_ge_ms"]["primary"]["margin"] == pytest.approx(deficit)              # 0.8
    assert claims["h1_eq_h2"]["primary"]["margin"] == pytest.approx(max(abs(r["H1"] - r["H2"]) for r in rows))
    t2 = pv["table2"]
    depths = claims["ms1_eq_h2"]["primary"]["plus"]["depth"]
    gap = max(abs(t2["MS1"][d]["test"] - t2["H2"][d]["test"]) for d in depths)
    assert claims["ms1_eq_h2"]["primary"]["margin"] == pytest.approx(gap)                # 0.17
    assert claims["depth_gain"]["step_margin"] == claims["ms1_eq_h2"]["primary"]["margin"]
    gain = np.mean([t2[a][16]["test"] - t2[a][0]["test"] for a in ("MS1", "H2")])
    assert claims["depth_gain"]["primary"]["alternative"] == pytest.approx(gain)         # 5.735


def test_every_claim_has_its_reasons():
    for name, c in CFG["claims"].items():
        if name == "lemma3":
            assert name not in CFG["multiplicity"]["family"] and c["why"]
            continue
        assert c["primary"]["margin_why"] and c["paper"], name


def _planned_seeds() -> set[int]:
    """Every seed the confirmatory runs will use (config/confirmatory.yaml's derivation)."""
    base, study = CFG["seeds"]["base_seed"], CFG["seeds"]["study"]
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    t1 = config["table1"]
    out = set()
    protocols = [CFG["primary_protocol"]["table1"], CFG["primary_protocol"]["secondary"]["table1"]]
    for setting in protocols:
        for ds, depths in t1["depths"].items():
            out |= {derive_seed(base, study, setting, ds, a, d, i) for a in t1["archs"] for d in depths
                    for i in range(CFG["n_seeds"]["table1"])}
    exps = yaml.safe_load((ROOT / "config" / "experiments_table1.yaml").read_text())["experiments"]["runs"]
    for name, e in exps.items():
        for setting in (name, e["protocol"]):
            out |= {derive_seed(base, study, setting, ds, a, d, i) for ds, per in e["cells"].items()
                    for a, depths in per.items() for d in depths for i in range(CFG["n_seeds"]["control"])}
    for net in config["figure2"]["networks"]:
        if net["name"] in CFG["figure2"]["networks"]:
            out |= {derive_seed(base, study, f"figure2_{net['name']}", config["figure2"]["dataset"], net["arch"],
                                net["depth"], i) for i in range(CFG["n_seeds"]["figure2"])}
    out |= {derive_seed(base, "mnist", study, c, d, i) for c in ("MS1", "H2") for d in config["table2"]["depths"]
            for i in range(CFG["n_seeds"]["table2"])}
    return out


def test_seed_namespace_is_disjoint_from_every_used_study():
    used = CFG["seeds"]["used_studies"]
    study = CFG["seeds"]["study"]
    # The lists are complete: the studies the code knows.
    assert set(settings.STUDIES) == set(used["table1"])
    assert 'study="figure2"' in (ROOT / "workflow" / "scripts" / "train_figure2.py").read_text()
    mnist = re.search(r"for _study in \(([^)]*)\)", (ROOT / "workflow" / "rules" / "mnist.smk").read_text())
    assert set(re.findall(r'"(\w+)"', mnist.group(1))) | {"validation"} == set(used["mnist_second"])
    names = used["table1"] + used["figure2"] + used["mnist"] + used["mnist_second"]
    assert study not in names and "/" not in study
    # And no planned seed (nor its data seed, seed + 3) is a seed any committed run used.
    planned = _planned_seeds()
    pilot = set()
    for name in ("table1_runs", "table1_experiments_runs", "table2_runs", "gradients_summary"):
        pilot |= set(pd.read_csv(ROOT / "paper" / "data" / f"{name}.csv")["seed"].astype(int))
    assert len(planned) > 2000 and not planned & pilot


def test_a_pilot_spread_is_taken_at_its_upper_confidence_bound():
    # 16 degrees of freedom (Table 2's 8 cells of 3 seeds), one-sided 80%: χ²_0.2(16) = 11.152
    assert P.sd_inflation([2] * 8, 0.8) == pytest.approx(math.sqrt(16 / 11.152), rel=1e-4)
    assert P.sd_inflation([9] * 40, 0.8) < 1.05 < P.sd_inflation([2] * 8, 0.8)

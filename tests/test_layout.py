"""The layout shows the architecture: each workflow script is named after the rule it serves."""

import re

from conftest import ROOT

# Scripts that serve a family of rules (one job per run, per report page, per kind of record).
SHARED = {"train_cell", "train_confirmatory", "mnist_run", "report", "confirmatory_data"}


def rule_scripts() -> dict[str, str]:
    """rule name (or the loop's f-string for rules built in a loop) → its script's stem."""
    found = {}
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=rule \w+:|\s+rule:)", smk.read_text()):
            script = re.search(r'"\.\./scripts/(\w+)\.py"', block)
            name = re.match(r"\s*rule (\w+):", block) or re.search(r'name:\s+f"([^"]+)"', block)
            if script and name:
                found[name.group(1)] = script.group(1)
    return found


def test_scripts_are_named_after_their_rules():
    scripts = rule_scripts()
    assert len(scripts) > 30
    odd = {rule: s for rule, s in scripts.items() if s != rule and s not in SHARED}
    assert not odd, f"rename the script after its rule: {odd}"
    on_disk = {p.stem for p in (ROOT / "workflow" / "scripts").glob("*.py")}
    assert on_disk == set(scripts.values()), f"scripts no rule runs: {on_disk - set(scripts.values())}"

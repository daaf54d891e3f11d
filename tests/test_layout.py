"""The layout shows the architecture: each workflow script is named after the rule it serves, and
lists as inputs the code it runs."""

import os
import re
import subprocess
import sys

from conftest import NO_TORCH, ROOT
from hdnn.provenance import MNIST_CODE, TRAIN_CODE
from hdnn.staleness import hdnn_imports

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


# Rules whose output does not depend on their code: MNIST's files are checked by hash whatever fetched them.
CODE_FREE = {"mnist_data"}


def test_every_rule_lists_the_code_its_script_runs(monkeypatch):
    """A change to any hdnn module a rule's script imports (lazily too) reruns the rule. Training
    rules list their training code instead, which test_staleness checks against the training
    module's imports (logging and the record's extra keys are not training)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import OutputSettings, ResourceSettings

    monkeypatch.chdir(ROOT)
    with SnakemakeApi(OutputSettings()) as api:
        rules = api.workflow(resource_settings=ResourceSettings(), snakefile=ROOT / "workflow" / "Snakefile",
                             workdir=ROOT)._workflow.rules
        missing = {}
        for rule in rules:
            inputs = {f for f in rule.input if isinstance(f, str)}
            if not rule.script or rule.name in CODE_FREE or set(TRAIN_CODE) <= inputs or set(MNIST_CODE) <= inputs:
                continue
            script = (ROOT / "workflow" / "rules" / rule.script).resolve()
            lacking = {f"src/hdnn/{m}.py" for m in hdnn_imports(script)} - inputs
            if lacking:
                missing[rule.name] = sorted(lacking)
    assert len([r for r in rules if r.script]) > 30
    assert not missing, f"add code_of(<script>) to these rules' inputs: {missing}"


TORCH_MODULES = {"blocks", "data", "train", "gradients", "mnist", "mnist_train", "fast_block", "figure_data",
                 "block_params"}   # hdnn/__init__.py names them


def test_only_training_and_its_figures_need_torch(tmp_path):
    """Every other module imports with torch unimportable: the package docstring's promise."""
    (tmp_path / "sitecustomize.py").write_text(NO_TORCH)
    modules = sorted(p.stem for p in (ROOT / "src" / "hdnn").glob("*.py") if p.stem != "__init__")
    code = ("import importlib\nfor m in %r:\n    try: importlib.import_module('hdnn.' + m)\n"
            "    except ImportError: print(m)" % modules)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "src")])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert set(out.split()) == TORCH_MODULES

"""hdnn.config_check: every config problem named by its key path, before any job runs."""

import gzip

import pytest
import yaml
from snakemake.cli import parse_config
from snakemake.utils import update_config

from conftest import ROOT, copy_repo, run_snakemake
from hdnn.catalog import ARCHS, IDX_FILES
from hdnn.config_check import CONFIG_FILES, ConfigError, check_config, merge_config, select_experiments

def load(*extra: str, overrides: dict | None = None) -> dict:
    config = merge_config([*CONFIG_FILES, *(f"config/{e}" for e in extra)])
    update_config(config, overrides or {})
    return config


def problems(config: dict) -> str:
    with pytest.raises(ConfigError) as err:
        check_config(config)
    return str(err.value)


@pytest.mark.parametrize("extra", [[], ["smoke.yaml"], ["probes/table2_lr_gamma_edges.yaml"],
                                   ["probes/paper_protocol_validation.yaml"],
                                   ["probes/figure2_fc_bias_zeros.yaml"]],
                         ids=["full", "smoke", "probe-lr-gamma", "probe-paper-validation", "probe-fc-bias"])
def test_committed_configs_pass(extra):
    check_config(load(*extra))


def test_misspelt_keys_are_named_with_a_guess_not_the_schema():
    config = load(overrides={"table1": {"n_seedz": 2}, "figur2": {}})
    msg = problems(config)
    assert "config key 'table1.n_seedz' is not allowed (did you mean 'n_seeds'?)" in msg
    assert "config key 'figur2' is not allowed (did you mean 'figure2'?)" in msg
    assert len(msg.splitlines()) == 3


# (config override, the text the error must hold): every schema rejection, in one place
# (test_snakemake_prints_a_few_lines_not_the_schema shows snakemake prints the same before any job).
BAD = [
    ({"table1": {"n_sedes": 3}}, "'table1.n_sedes' is not allowed"),
    ({"table1": {"protocols": {"paper": {"bias_init": "uniform"}}}}, "'uniform'"),
    ({"figure2": {"stal": {"window": 32, "threshold": 0.01}}}, "'figure2.stal' is not allowed"),
    ({"table2": {"per_arch": {"H3": {"h": 0.1}}}}, "H3"),
    ({"table2": {"base": {"lr_gama": 0.8}}}, "lr_gama"),
    ({"table2": {"depths": [-1]}}, "-1"),
    ({"certify": {"table1": {"tolerance": {"train_acc": 0, "test_acc": 0, "test_ac": 1}}}}, "test_ac"),
    ({"table1": {"archs": ["MS1", "H3"]}}, "'table1.archs[1]' = 'H3' is not allowed: one of MS1"),
    ({"table1": {"base": {"scheme": "sgd"}}}, "'table1.base.scheme' = 'sgd'"),
    ({"table1": {"n_seeds": 0}}, "'table1.n_seeds': 0 is less than the minimum of 1"),
    ({"table1": {"depths": {"swiss_roll": [4, "x"]}}}, "'table1.depths.swiss_roll[1]' = 'x' is not allowed: expected integer"),
    ({"figure2": {"kinds": {"mean_jacobian": "every"}}}, "'figure2.kinds.mean_jacobian' = 'every'"),
    ({"figure2": {"networks": [{"name": "X", "arch": "H1", "depth": 4}]}},
     "'figure2.networks[0].time_invariant' is missing"),
    ({"tuning": {"start": "tuned"}}, "'tuning.start' = 'tuned'"),
    ({"mnist": {"allow_download": "maybe"}}, "'mnist.allow_download' = 'maybe' is not allowed: expected boolean"),
    ({"diagnostics": {"stages": ["tunin"]}}, "'diagnostics.stages[0]' = 'tunin' is not allowed"),
    ({"diagnostics": {"probes": ["fc_bias_zero"]}}, "'diagnostics.probes' names 'fc_bias_zero': one of"),
    ({"certify_baseline": {"tabel1": "results"}}, "'certify_baseline.tabel1' is not allowed"),
    ({"certify_baseline": {"table1": "no/such/results"}}, "'certify_baseline.table1' = 'no/such/results' is not an existing folder"),
    ({"experiments": {"runs": {"x": {"protocol": "code", "settings": {}, "why": "y",
                                     "cells": {"swiss_roll": {"H3": [4]}}}}}}, "'H3'"),
]


@pytest.mark.parametrize("override, text", BAD, ids=[t for _, t in BAD])
def test_schema_problems_name_the_key(override, text):
    assert text in problems(load(overrides=override))


def test_nested_command_line_override_is_coerced_to_the_schemas_types():
    # Snakemake parses a nested --config value with YAML's BaseLoader: every scalar a string.
    cli = parse_config(['table1={"n_seeds": 2, "base": {"lr": 1e-3, "adam_step_reset": false}}',
                        'table2={"subset": null}'])
    assert cli["table1"]["n_seeds"] == "2"
    config = check_config(load(overrides=cli))
    assert config["table1"]["n_seeds"] == 2 and config["table1"]["base"]["lr"] == 1e-3
    assert config["table1"]["base"]["adam_step_reset"] is False and config["table2"]["subset"] is None
    assert config["figure2"]["eigenvalues"] == "H1-TI"  # strings the schema wants stay strings
    assert "'table1.n_seeds' = 'two'" in problems(load(overrides=parse_config(['table1={"n_seeds": two}'])))


def test_eigenvalues_names_a_time_invariant_hamiltonian_network():
    msg = problems(load(overrides={"figure2": {"eigenvalues": "H1-IT"}}))
    assert "config key 'figure2.eigenvalues' = 'H1-IT' is not a figure2.networks name (did you mean 'H1-TI'?)" in msg
    msg = problems(load(overrides={"figure2": {"eigenvalues": "MS1"}}))
    assert "'figure2.eigenvalues' = 'MS1' must name a time-invariant H1 or H2 network" in msg


def test_figure2_networks_and_layers_fit_together():
    nets = [{"name": "A", "arch": "H1", "depth": 2, "time_invariant": True}] * 2
    msg = problems(load(overrides={"figure2": {"networks": nets, "eigenvalues": "A", "layers": [3]}}))
    assert "'figure2.networks' names A more than once" in msg
    assert "'figure2.layers' = [3]: none is within the depth 2 of figure2.networks[0] (A)" in msg


def write_idx(folder, packed=()):
    folder.mkdir()
    for name in IDX_FILES:
        if name in packed:
            (folder / f"{name}.gz").write_bytes(gzip.compress(b"idx"))
        else:
            (folder / name).write_bytes(b"idx")


def test_mnist_source_dir_must_hold_the_four_idx_files(tmp_path):
    missing = str(tmp_path / "nowhere")
    assert f"'mnist.source_dir' = '{missing}' is not an existing folder" in \
        problems(load(overrides={"mnist": {"source_dir": missing}}))
    write_idx(tmp_path / "mixed", packed=IDX_FILES[:2])
    check_config(load(overrides={"mnist": {"source_dir": str(tmp_path / "mixed")}}))
    (tmp_path / "mixed" / IDX_FILES[3]).unlink()
    msg = problems(load(overrides={"mnist": {"source_dir": str(tmp_path / "mixed")}}))
    assert f"lacks {IDX_FILES[3]} (plain or .gz)" in msg


def test_weight_decay_probe_passes_once_the_main_workflow_has_the_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the probe reads results/data/MNIST/raw, relative to the run folder
    config = load("probes/table2_weight_decay_all.yaml")
    assert "'mnist.source_dir' = 'results/data/MNIST/raw' is not an existing folder" in problems(config)
    raw = tmp_path / "results" / "data" / "MNIST" / "raw"
    raw.parent.mkdir(parents=True)
    write_idx(raw)
    check_config(config)


def test_odd_width_is_rejected_where_a_block_splits_the_state():
    msg = problems(load(overrides={"table1": {"protocols": {"paper": {"nf": 3}}}}))
    assert "'table1.protocols.paper.nf' = 3 must be even: H1, MS1, MS3" in msg
    nets = [{"name": "F", "arch": "FC", "depth": 4, "time_invariant": False},
            {"name": "T", "arch": "H2", "depth": 4, "time_invariant": True}]
    check_config(load(overrides={"figure2": {"networks": nets, "eigenvalues": "T", "settings": {"nf": 3}}}))


def test_every_table2_arch_has_its_settings():
    msg = problems(load(overrides={"table2": {"archs": ["MS1", "H2", "H1"]}}))
    assert "'table2.per_arch' has no entry for H1" in msg
    msg = problems(load(overrides={"table2": {"cross": {"MS1_with_H1_settings": {"arch": "MS1", "settings": "H1"}}}}))
    assert "'table2.cross.MS1_with_H1_settings.settings' = 'H1' has no table2.per_arch entry" in msg


def test_snakemake_prints_a_few_lines_not_the_schema(tmp_path):
    repo = copy_repo(tmp_path)
    (repo / "bad.yaml").write_text("tabel1: {n_seeds: 2}\n")
    proc = run_snakemake(repo, "-n", "--cores", "1", "--configfile", "bad.yaml", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "config key 'tabel1' is not allowed (did you mean 'table1'?)" in out
    assert len(out.splitlines()) < 20 and "additionalProperties" not in out


def test_schema_knows_the_same_architectures_as_the_blocks():
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert schema["definitions"]["arch"]["enum"] == list(ARCHS)


def test_experiments_only_names_known_runs_and_keeps_their_experiments():
    text = problems(load(overrides={"experiments": {"only": ["code_joint_control", "code_jiont"]}}))
    assert "'code_jiont', which is not in experiments.runs" in text
    assert "keeps 'code_joint_control' but not 'code_joint'" in text
    config = load("smoke.yaml")
    check_config(config)
    assert list(select_experiments(config)["experiments"]["runs"]) == ["more_epochs", "more_epochs_control"]
    assert len(select_experiments(load())["experiments"]["runs"]) == 14   # no `only`: every run

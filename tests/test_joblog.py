"""Per-job logs (hdnn.joblog): what a workflow script logs, warns and raises lands in its log."""

import logging
import subprocess
import sys
import textwrap

import pytest

from hdnn.joblog import log_runs
from hdnn.provenance import write_json

SCRIPT = """
import logging, warnings
from types import SimpleNamespace
from hdnn.joblog import setup_logging

sm = SimpleNamespace(log=[{log!r}], rule="train_table1", wildcards={{"depth": "4"}}, threads=1)
print("bars:", setup_logging(sm))
logging.getLogger("hdnn.train").info("epoch 1: loss 0.5")
warnings.warn("a warning")
raise ValueError("bad cell")
"""


def test_logging_warnings_and_traceback_go_to_the_log_and_stderr(tmp_path):
    log = tmp_path / "job.log"
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT.format(log=str(log)))],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "bars: False" in proc.stdout  # stderr is a pipe, not a terminal: no progress bars
    text = log.read_text()
    for expected in ("rule train_table1", "{'depth': '4'}", "epoch 1: loss 0.5", "a warning",
                     "Traceback", "ValueError: bad cell"):
        assert expected in text and expected in proc.stderr, expected
    # A rerun (after a crash or Ctrl-C) appends: the first attempt's lines are still there.
    subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT.format(log=str(log)))], capture_output=True)
    assert log.read_text().startswith(text) and log.read_text().count("ValueError: bad cell") == 2


def test_ctrl_c_is_one_line_saying_how_to_resume(tmp_path):
    log = tmp_path / "job.log"
    script = SCRIPT.format(log=str(log)).replace('raise ValueError("bad cell")', "raise KeyboardInterrupt")
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True)
    assert proc.returncode != 0
    for out in (log.read_text(), proc.stderr):
        assert "interrupted: the same command resumes" in out and "Traceback" not in out


def test_an_error_that_names_its_file_is_one_line(tmp_path):
    log, record = tmp_path / "job.log", tmp_path / "metrics.json"
    write_json(record, {"config": {"T": 0.8}, "test_acc": 0.9})
    record.write_text(record.read_text()[:20])   # cut short (a full disk, an interrupted copy)
    script = SCRIPT.format(log=str(log)).replace('raise ValueError("bad cell")',
                                                 f"from hdnn.runs import collect_runs; collect_runs([{str(record)!r}])")
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True)
    assert proc.returncode != 0
    for out in (log.read_text(), proc.stderr):
        assert f"{record}: not a readable run record" in out and f"--force {record}" in out
        assert "Traceback" not in out


@pytest.mark.parametrize("module, error", [("hdnn.mnist", "MnistDataError"), ("hdnn.config_check", "ConfigError")])
def test_the_data_and_config_checks_print_one_line(tmp_path, module, error):
    log = tmp_path / "job.log"
    script = SCRIPT.format(log=str(log)).replace('raise ValueError("bad cell")',
                                                 f"from {module} import {error}; raise {error}('x.idx: cut short; fetch it again')")
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True)
    assert proc.returncode != 0
    for out in (log.read_text(), proc.stderr):
        assert "x.idx: cut short; fetch it again" in out and "Traceback" not in out


def test_log_runs_writes_one_line_per_run(tmp_path, caplog):
    path = tmp_path / "metrics.json"
    write_json(path, {"train_acc": 0.9, "test_acc": float("nan"), "wall_time_s": 2.5})
    with caplog.at_level(logging.INFO):
        log_runs([path])
    assert caplog.messages == [f"{path}: train_acc 0.9000, 2.5 s (its share)",  # a non-finite value left out
                               "1 run(s) trained in 2.5 s in all"]

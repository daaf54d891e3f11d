"""Per-job logs: a workflow script's logging, warnings and traceback go to its rule's `log:` file
as well as to stderr; progress bars only to a terminal, so a log holds lines, not the
carriage-return frames of bars (and parallel jobs' bars never land in a file). A rerun appends:
an interrupted attempt's lines stay above the next one's."""

import logging
import sys

from hdnn.runs import read_record

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Errors whose message names the file or key and the fix: one line, no traceback. By name, so
# that this module imports neither torch (hdnn.mnist) nor the config check.
CLEAR_ERRORS = {"hdnn.runs.RunRecordError", "hdnn.mnist.MnistDataError", "hdnn.config_check.ConfigError"}


def setup_logging(sm) -> bool:
    """Called first by every workflow script with its `snakemake` object. Returns whether stderr
    is a terminal: whether to draw progress bars."""
    handlers = [logging.StreamHandler(sys.stderr)] + [logging.FileHandler(path, mode="a")
                                                       for path in sm.log]
    logging.basicConfig(level=logging.INFO, format=FORMAT, handlers=handlers, force=True)
    logging.captureWarnings(True)
    log = logging.getLogger(f"rule {sm.rule}")
    sys.excepthook = lambda *exc: _report(log, exc)
    log.info("wildcards %s, threads %d", dict(sm.wildcards.items()), sm.threads)
    return sys.stderr.isatty()


def _report(log: logging.Logger, exc) -> None:
    """An uncaught exception's traceback goes through logging too, so the log file has it; Ctrl-C
    and the errors that say everything themselves (CLEAR_ERRORS) get one line instead."""
    if issubclass(exc[0], KeyboardInterrupt):
        log.warning("interrupted: the same command resumes (an MNIST run from its last finished "
                    "epoch; other jobs start again)")
    elif f"{exc[0].__module__}.{exc[0].__qualname__}" in CLEAR_ERRORS:
        log.critical("%s", exc[1])
    else:
        log.critical("failed", exc_info=exc)


def log_runs(paths) -> None:
    """One line per finished run (its metrics.json): accuracies and its share of the training
    time (the seeds of a cell train together), then the job's total."""
    log, total = logging.getLogger("runs"), 0.0
    for path in paths:
        rec = read_record(path)
        accs = ", ".join(f"{k} {v:.4f}" for k, v in rec.items()
                         if k.endswith("_acc") and isinstance(v, float))
        log.info("%s: %s, %.1f s (its share)", path, accs, rec["wall_time_s"])
        total += rec["wall_time_s"]
    log.info("%d run(s) trained in %.1f s in all", len(paths), total)

import pandas as pd

from hdnn import confirmatory as CF
from hdnn.joblog import setup_logging
from hdnn.staleness import training_code_digest

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
protocol = CF.load(sm.input.protocol)
runs = CF.runs_frame(sm.input.runs, protocol)
runs.to_csv(sm.output.runs, index=False)
# The check, and the training code's digest at the runs' commits (the report's marker, hdnn.staleness),
# per kind of run: Table 1's cells and Figure 2 train with one code, Table 2 (MNIST) with another.
checks = []
for table2, code in ((False, sm.params.train_code), (True, sm.params.mnist_code)):
    check = CF.check_runs(runs[(runs["group"] == "table2") == table2], sm.input.protocol)
    check["train_code"] = ",".join(code)
    check["train_code_digest"] = [training_code_digest([c], code) for c in check["git_commit"]]
    checks.append(check)
pd.concat(checks, ignore_index=True).to_csv(sm.output.check, index=False)
stall = sm.params.stall
figure2 = [p for p, group in zip(sm.input.runs, runs["group"]) if group == "figure2"]
CF.figure2_gradients(figure2, stall["window"], stall["threshold"]).to_csv(sm.output.gradients, index=False)

from hdnn import confirmatory as CF
from hdnn.joblog import setup_logging
from hdnn.staleness import training_code_digest

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
protocol = CF.load(sm.input.protocol)
runs = CF.runs_frame(sm.input.runs, protocol)
runs.to_csv(sm.output.runs, index=False)
check = CF.check_runs(runs, sm.input.protocol)
# The training code's digest at the runs' commits: the report's marker (hdnn.staleness).
check["train_code"] = ",".join(sm.params.train_code)
check["train_code_digest"] = [training_code_digest([c], sm.params.train_code) for c in check["git_commit"]]
check.to_csv(sm.output.check, index=False)
stall = sm.params.stall
figure2 = [p for p, group in zip(sm.input.runs, runs["group"]) if group == "figure2"]
CF.figure2_gradients(figure2, stall["window"], stall["threshold"]).to_csv(sm.output.gradients, index=False)

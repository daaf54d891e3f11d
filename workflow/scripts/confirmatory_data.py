from hdnn import confirmatory as CF
from hdnn.joblog import setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
protocol = CF.load(sm.input.protocol)
runs = CF.runs_frame(sm.input.runs, protocol)
runs.to_csv(sm.output.runs, index=False)
CF.check_runs(runs, sm.input.protocol).to_csv(sm.output.check, index=False)
stall = sm.params.stall
figure2 = [p for p, group in zip(sm.input.runs, runs["group"]) if group == "figure2"]
CF.figure2_gradients(figure2, stall["window"], stall["threshold"]).to_csv(sm.output.gradients, index=False)

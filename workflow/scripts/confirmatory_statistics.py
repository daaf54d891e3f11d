import pandas as pd

from hdnn import confirmatory as CF
from hdnn import endpoints as E
from hdnn.joblog import setup_logging
from hdnn.confirmatory import pilot_data

sm = snakemake  # noqa: F821 (injected by Snakemake)
# Ten digits: the last ones of a float sum differ between CPUs' vector paths (AVX-512, AVX2), and
# a committed file must be the same whichever machine remade it.
DIGITS = "%.10g"
setup_logging(sm)
protocol = CF.load(sm.input.protocol)
runs, check = (pd.concat(map(pd.read_csv, files), ignore_index=True) for files in (sm.input.runs, sm.input.check))
runs, grads = CF.checked(runs, check, pd.read_csv(sm.input.gradients[0]))
table1, table2 = (runs[runs["group"] == g].rename(columns={"setting": "protocol"}) for g in ("table1", "table2"))
confirmatory = E.analyse(protocol, {"table1": table1, "table2": table2, "figure2": grads}, sm.params.layers, "confirmatory")
pilot = pilot_data(protocol["power"]["pilot_commit"])   # the pilot as the protocol names it
exploratory = E.analyse(protocol, {name: pd.read_csv(pilot / f"{file}.csv") for name, file in
                                   (("table1", "table1_runs"), ("table2", "table2_runs"), ("figure2", "gradients_summary"))},
                        sm.params.layers, "exploratory")
pd.concat([confirmatory[0], exploratory[0]], ignore_index=True).to_csv(sm.output.endpoints, index=False, float_format=DIGITS)
pd.concat([confirmatory[1], exploratory[1]], ignore_index=True).to_csv(sm.output.sensitivity, index=False, float_format=DIGITS)
E.unit_tests(protocol, table1, "confirmatory").to_csv(sm.output.units, index=False, float_format=DIGITS)
E.control_effects(runs[runs["group"].isin(["table1", "control"])], sm.params.experiments, protocol["alpha"]).to_csv(
    sm.output.controls, index=False, float_format=DIGITS)

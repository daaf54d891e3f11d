from hdnn.train import run_cell

sm = snakemake  # noqa: F821 (injected by Snakemake)
net = sm.params.net
run_cell(sm.input.data, list(sm.output.runs), study="figure2", setting=sm.wildcards.network,
         dataset=sm.config["figure2"]["dataset"], arch=net["arch"], depth=net["depth"],
         settings=sm.params.settings, base_seed=sm.config["base_seed"], threads=sm.threads,
         track=sm.params.track)

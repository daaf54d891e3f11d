from hdnn.plotting import figure2_data

sm = snakemake  # noqa: F821 (injected by Snakemake)
figure2_data(sm.input.runs, sm.params.layers).to_csv(sm.output[0], index=False)

from hdnn.plotting import plot_eigenvalues

sm = snakemake  # noqa: F821 (injected by Snakemake)
plot_eigenvalues(sm.input.csv, sm.output.png, sm.output.pdf)

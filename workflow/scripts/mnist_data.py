from hdnn.mnist import prepare_mnist

sm = snakemake  # noqa: F821 (injected by Snakemake)
prepare_mnist(sm.params.root, sm.params.source_dir, sm.params.allow_download)

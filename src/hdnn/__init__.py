"""Hamiltonian deep neural networks (Galimberti, Xu, Ferrari Trecate, L4DC 2021), replicated.

The networks are in hdnn.blocks; importing the package loads nothing else. The workflow's
definition, the config check, the collector, the statistics, the reports and the plots run
without torch (the grid's names are in hdnn.catalog); training (blocks, data, train, gradients,
mnist, mnist_train, fast_block), the figures drawn from trained networks (figure_data) and the
parameter count (block_params) need it (tests/test_layout.py checks this list)."""

__version__ = "0.1.0"

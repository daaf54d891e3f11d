"""Hamiltonian deep neural networks (Galimberti, Xu, Ferrari Trecate, L4DC 2021), replicated.

The networks are in hdnn.blocks; importing the package loads nothing else. The workflow's
definition and its config check run without torch (hdnn.catalog reads the grid's names from the
source), as do the collector, the statistics and the plots; training, the figures drawn from
trained networks and Table 1's tables (they count a block's parameters) need it."""

__version__ = "0.1.0"

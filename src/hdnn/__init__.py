"""Hamiltonian deep neural networks (Galimberti, Xu, Ferrari Trecate, L4DC 2021), replicated.

The networks are in hdnn.blocks; importing the package loads nothing else. The collector, the
statistics and the plots run without torch; config_check, reporting (so table1, table2 and
replication) and figure_data still import it, through hdnn.blocks' constants."""

__version__ = "0.1.0"

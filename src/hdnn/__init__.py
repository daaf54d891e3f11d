"""Hamiltonian deep neural networks (Galimberti, Xu, Ferrari Trecate, L4DC 2021), replicated.

The networks are in hdnn.blocks; importing the package loads nothing else (reports and figures
run without torch)."""

__version__ = "0.1.0"

"""Hamiltonian deep neural networks (Galimberti, Xu, Ferrari Trecate, L4DC 2021), replicated."""

from hdnn.blocks import ARCHS, make_block

__all__ = ["ARCHS", "make_block"]
__version__ = "0.1.0"

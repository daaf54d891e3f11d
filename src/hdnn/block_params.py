"""Table 1's last row: each block's parameters per layer, counted from the modules themselves.

Apart from the tables (hdnn.table1) because counting builds the blocks (torch): the ``block_params``
rule writes the counts once, and the tables and the report read that file (hdnn.table1.read_block_params).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hdnn.blocks import make_block


def params_row(archs, nf: int = 4) -> dict[str, int]:
    """Parameters per layer of each block at ``nf`` features."""
    return {a: make_block(a, nf=nf, depth=2, h=0.1).params_per_layer() for a in archs}


def write_block_params(archs, out_csv: str | Path, nf: int = 4) -> None:
    """The counts at the paper's nf = 4, one row per block."""
    counts = params_row(archs, nf)
    pd.DataFrame({"arch": list(counts), "nf": nf, "params_per_layer": list(counts.values())}).to_csv(out_csv, index=False)


"""What the experiment grid can name: the blocks, the 2-D data sets, MNIST's files.

Each list lives in the module that builds those things (hdnn.blocks, hdnn.data, hdnn.mnist), which
import torch. This module reads them from those modules' source instead, so the workflow parses
and checks a config without the training stack (tests/test_blocks.py checks the two agree).
"""

import ast
from pathlib import Path


def module_constants(module: str) -> dict:
    """The module-level constants of src/hdnn/<module>.py that are literals, or tuples of earlier ones."""
    values = {}
    for node in ast.parse((Path(__file__).parent / f"{module}.py").read_text()).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        value = node.value
        if isinstance(value, ast.Tuple) and all(isinstance(e, ast.Name) and e.id in values for e in value.elts):
            values[node.targets[0].id] = tuple(values[e.id] for e in value.elts)
            continue
        try:
            values[node.targets[0].id] = ast.literal_eval(value)
        except (ValueError, TypeError):
            pass
    return values


_BLOCKS, _DATA, _MNIST = (module_constants(m) for m in ("blocks", "data", "mnist"))
ARCHS, SPLIT_ARCHS = _BLOCKS["ARCHS"], _BLOCKS["SPLIT_ARCHS"]
DATASETS = _DATA["DATASETS"]
IDX_FILES = _MNIST["IDX_FILES"]

"""The machine's CPU as run records and benchmarks name it: model and vector instruction sets."""

from __future__ import annotations

import platform
from pathlib import Path

VECTOR_FLAGS = ("avx512f", "avx2", "fma", "sse4_2", "asimd", "sve")  # x86 and ARM vector units


def cpu_info() -> tuple[str, list[str]]:
    """The CPU's model and all its instruction-set flags (/proc/cpuinfo's first CPU)."""
    info: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    model = info.get("model name") or info.get("Model") or platform.processor() or platform.machine()
    return model, (info.get("flags") or info.get("Features") or "").split()


def cpu_vector_flags() -> list[str]:
    """The vector instruction sets among the CPU's flags, widest first (what a run's speed hinges on)."""
    flags = set(cpu_info()[1])
    return [f for f in VECTOR_FLAGS if f in flags]

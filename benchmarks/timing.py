"""Shared by the benchmarks: the CPU they ran on, and the best-of table with each mode's overhead."""

import os

from hdnn.cpu import cpu_info, cpu_vector_flags


def cpu_line() -> str:
    """The CPU model, its vector instruction sets and the cores this process may use: a benchmark's
    first line, so a number is never quoted without the machine it was measured on."""
    return (f"CPU: {cpu_info()[0]}; vector: {', '.join(cpu_vector_flags()) or 'unknown'}; "
            f"{len(os.sched_getaffinity(0))} cores")


def print_overheads(best: dict[str, tuple[float, float]], iterations: int, width: int,
                    digits: int) -> None:
    """One line per mode: best wall and thread-CPU seconds, ms/iteration, overhead vs untracked."""
    base_wall, base_cpu = best["untracked"]
    for name, (wall, cpu) in best.items():
        overhead = "" if name == "untracked" else \
            f"   overhead {100 * (wall / base_wall - 1):+.0f}% | {100 * (cpu / base_cpu - 1):+.0f}%"
        print(f"  {name:{width}s} {wall:7.{digits}f} s | {cpu:7.{digits}f} s"
              f"   ({1e3 * wall / iterations:.2f} ms/iteration){overhead}")

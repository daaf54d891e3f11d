"""Shared by the tracking benchmarks: the best-of table with each mode's overhead."""


def print_overheads(best: dict[str, tuple[float, float]], iterations: int, width: int,
                    digits: int) -> None:
    """One line per mode: best wall and thread-CPU seconds, ms/iteration, overhead vs untracked."""
    base_wall, base_cpu = best["untracked"]
    for name, (wall, cpu) in best.items():
        overhead = "" if name == "untracked" else \
            f"   overhead {100 * (wall / base_wall - 1):+.0f}% | {100 * (cpu / base_cpu - 1):+.0f}%"
        print(f"  {name:{width}s} {wall:7.{digits}f} s | {cpu:7.{digits}f} s"
              f"   ({1e3 * wall / iterations:.2f} ms/iteration){overhead}")

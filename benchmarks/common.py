"""Timing helpers shared by the benchmarks: interleaved repeats, medians, thread matching."""

from __future__ import annotations

import math
import statistics
import time


def blas_threads() -> int:
    """Threads cnnlab's heavy ops use (its pool, or OpenBLAS's own threads when the pool
    is off); PyTorch is set to the same."""
    from cnnlab.threads import get_num_threads

    return get_num_threads()


def interleaved(
    fns: dict,
    repeats: int = 7,
    number: int | None = None,
    warmup: int = 2,
    min_time: float = 0.2,
    samples: dict | None = None,
) -> dict:
    """Median seconds per call of each function, timing them in alternation so drift in the
    machine's load hits all of them alike. Pass a dict as ``samples`` to get every repeat's
    seconds per call too (``samples[name][i]`` is repeat ``i``).

    Each sample runs ``number`` calls; by default as many as make the slowest function's
    sample last ``min_time`` seconds (like ``timeit``'s autorange), the same count for all.
    A sample of one 10 ms step would mostly measure the hand-over from the other framework
    (its threads still spinning, caches holding its data) rather than the step.
    """
    for f in fns.values():
        for _ in range(warmup):
            f()
    if number is None:
        slowest = 0.0
        for f in fns.values():
            t0 = time.perf_counter()
            f()
            slowest = max(slowest, time.perf_counter() - t0)
        number = max(1, math.ceil(min_time / max(slowest, 1e-9)))
    if samples is None:
        samples = {}
    samples.update({k: [] for k in fns})
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = time.perf_counter()
            for _ in range(number):
                f()
            samples[k].append((time.perf_counter() - t0) / number)
    return {k: statistics.median(samples[k]) for k in fns}


def ratio_range(samples: dict, num: str, den: str) -> str:
    """The lowest and highest of the per-repeat ratios ``num / den`` (samples taken side by
    side, so they share the machine's load at that moment): how far one run can be trusted."""
    ratios = [a / b for a, b in zip(samples[num], samples[den])]
    return f"{min(ratios):.2f}-{max(ratios):.2f}"


def table(rows: list[dict], columns: list[str]) -> str:
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    line = "  ".join(c.ljust(widths[c]) for c in columns)
    out = [line, "  ".join("-" * widths[c] for c in columns)]
    for r in rows:
        out.append("  ".join(str(r[c]).ljust(widths[c]) for c in columns))
    return "\n".join(out)

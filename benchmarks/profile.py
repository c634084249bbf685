"""Where one training (or inference) step of a benchmark workload spends its time.

    python -m benchmarks.profile [--only lenet5-train] [--steps 5] [--threads 1] [--wall]
                                 [--gemm]

Times every op's forward and backward (CPU time of this process, so load from other
processes barely matters) by wrapping each ``Function`` subclass's ``forward``/``backward``
for the duration of the run, plus the optimizer step and whatever is left (Python glue,
the autograd engine). Rows are ``Op.forward`` / ``Op.backward`` with milliseconds per step.
With ``--threads 1`` (the default) BLAS runs on one core, which makes the split between
GEMM and copy-bound work easy to read; PyTorch's single-thread step time is printed too.
With more threads CPU time adds up every thread's work; ``--wall`` times by the clock
instead (what a user waits for; other load on the machine then counts too).
``--gemm`` adds how much of the step the GEMMs take (every ``np.matmul`` / ``np.dot`` call,
timed by the clock in the thread that makes it, summed over threads) and the GFLOP/s they
run at; the rest of the ops' time is copies, element-wise passes and Python.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections import defaultdict

_clock = time.process_time  # or time.perf_counter with --wall


def _all_functions(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_functions(sub)


def _wrap(cls, name, table):
    orig = cls.__dict__[name]
    fn = orig.__func__

    def timed(*args, **kwargs):
        t0 = _clock()
        try:
            return fn(*args, **kwargs)
        finally:
            table[f"{cls.__name__}.{name}"] += _clock() - t0

    setattr(cls, name, staticmethod(timed))
    return orig


class _GemmTimer:
    """Patches ``numpy.matmul`` and ``numpy.dot`` (the ops reach them as ``xp.matmul`` /
    ``xp.dot``) to add up their time and floating-point operations."""

    def __init__(self) -> None:
        import numpy as np

        self.np, self.seconds, self.flops = np, 0.0, 0
        self.saved = (np.matmul, np.dot)

    def _timed(self, fn):
        np = self.np

        def timed(a, b, *args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(a, b, *args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0
                a, b = np.asarray(a), np.asarray(b)
                if a.ndim >= 2 and b.ndim >= 2:
                    batch = int(np.prod(np.broadcast_shapes(a.shape[:-2], b.shape[:-2])))
                    self.flops += 2 * batch * a.shape[-2] * a.shape[-1] * b.shape[-1]

        return timed

    def __enter__(self):
        self.np.matmul, self.np.dot = (self._timed(f) for f in self.saved)
        return self

    def __exit__(self, *exc) -> None:
        self.np.matmul, self.np.dot = self.saved


def profile(workload: str, steps: int, gemm: bool = False) -> None:

    from benchmarks import train_step as ts
    from cnnlab.autograd import Function

    w = [w for w in ts.WORKLOADS if w.name == workload][0]
    x, y = ts.batch(w)
    ours, theirs = ts.build(w)
    step = ts.cnnlab_step(ours, w, x, y)
    tstep = ts.torch_step(theirs, w, x, y)
    for _ in range(2):
        step()
        tstep()
    table: dict = defaultdict(float)
    saved = []
    for cls in set(_all_functions(Function)):
        for name in ("forward", "backward"):
            if name in cls.__dict__:
                saved.append((cls, name, _wrap(cls, name, table)))
    from cnnlab.optim import SGD

    orig_step = SGD.step

    def timed_step(self, closure=None):
        t0 = _clock()
        try:
            return orig_step(self, closure)
        finally:
            table["SGD.step"] += _clock() - t0

    SGD.step = timed_step
    gemms = _GemmTimer() if gemm else None
    try:
        with gemms or contextlib.nullcontext():
            t0 = _clock()
            for _ in range(steps):
                step()
            total = _clock() - t0
    finally:
        SGD.step = orig_step
        for cls, name, orig in saved:
            setattr(cls, name, orig)
    t0 = _clock()
    for _ in range(steps):
        tstep()
    ttotal = _clock() - t0
    ms = 1e3 / steps
    print(
        f"\n## {workload}: cnnlab {total * ms:.1f} ms/step, torch {ttotal * ms:.1f} ms/step "
        f"({'wall' if _clock is time.perf_counter else 'CPU'} time, "
        f"ratio torch/cnnlab {ttotal / total:.2f})"
    )
    rest = total - sum(table.values())
    rows = sorted(table.items(), key=lambda kv: -kv[1]) + [("other (engine, glue)", rest)]
    for k, v in rows:
        if v * ms >= 0.05:
            print(f"  {k:32s} {v * ms:8.2f} ms  {100 * v / total:5.1f}%")
    if gemms is not None and gemms.seconds > 0:
        print(
            f"  of which GEMMs (matmul, dot)     {gemms.seconds * ms:8.2f} ms  "
            f"{100 * gemms.seconds / total:5.1f}%  ({gemms.flops / steps / 1e9:.2f} GFLOP/step "
            f"at {gemms.flops / gemms.seconds / 1e9:.0f} GFLOP/s)"
        )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--wall", action="store_true", help="wall-clock time instead of CPU time")
    ap.add_argument("--gemm", action="store_true", help="also the GEMMs' share and GFLOP/s")
    args = ap.parse_args(argv)
    global _clock
    _clock = time.perf_counter if args.wall else time.process_time
    if "numpy" in sys.modules and os.environ.get("OPENBLAS_NUM_THREADS") != str(args.threads):
        print("note: NumPy was imported before OPENBLAS_NUM_THREADS was set", file=sys.stderr)
    import torch

    from benchmarks import train_step as ts

    torch.set_num_threads(args.threads)
    for w in ts.WORKLOADS:
        if not args.only or w.name in args.only.split(","):
            profile(w.name, args.steps, args.gemm)


if __name__ == "__main__":
    # BLAS reads its thread count when NumPy is first imported, so set it before that
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--threads", type=int, default=1)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(pre.parse_known_args()[0].threads))
    main()

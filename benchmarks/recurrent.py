"""Recurrent layers, cnnlab against PyTorch in the same process (interleaved, median).

    python -m benchmarks.recurrent [--repeats 7] [--batch 128] [--steps 28] [--hidden 128]

The workload of the issue: batch 128, 28 steps of 28 features (sequential MNIST), hidden
128, forward + backward of ``nn.LSTM`` (and, for context, GRU, tanh RNN and the LSTM's
forward alone). Both frameworks get the same weights and input; a pair whose outputs or
input gradients differ is refused. PyTorch's threads are set to cnnlab's. "ratio" is
PyTorch's time over cnnlab's (above 1: cnnlab is faster).
"""

from __future__ import annotations

import argparse
import platform

import numpy as np

import cnnlab
from benchmarks.common import blas_threads, interleaved, ratio_range, table
from cnnlab import nn

try:
    import torch
except ImportError as e:  # pragma: no cover
    raise SystemExit("benchmarks need PyTorch: pip install torch==2.13.0") from e


def _pair(kind: str, features: int, hidden: int):
    extra = {"nonlinearity": "tanh"} if kind == "RNN" else {}
    theirs = getattr(torch.nn, kind)(features, hidden, batch_first=True, **extra)
    ours = getattr(nn, kind)(features, hidden, batch_first=True, **extra)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _runs(ours, theirs, x: np.ndarray, backward: bool):
    g = np.random.default_rng(1).standard_normal(x.shape[:2] + (ours.hidden_size,))
    g = g.astype(np.float32)
    cx = cnnlab.tensor(x, requires_grad=backward)
    tx = torch.tensor(x, requires_grad=backward)
    tg = torch.tensor(g)

    def run_ours():
        if not backward:
            with cnnlab.no_grad():
                return ours(cx)[0].numpy(), None
        cx.grad = None
        ours.zero_grad()
        out = ours(cx)[0]
        out.backward(g)
        return out.numpy(), np.asarray(cx.grad)

    def run_theirs():
        if not backward:
            with torch.no_grad():
                return theirs(tx)[0].numpy(), None
        tx.grad = None
        theirs.zero_grad()
        out = theirs(tx)[0]
        out.backward(tg)
        return out.detach().numpy(), tx.grad.numpy()

    return run_ours, run_theirs


def _check(name, run_ours, run_theirs) -> None:
    (a, ga), (b, gb) = run_ours(), run_theirs()
    if not np.allclose(a, b, rtol=1e-4, atol=1e-5) or (
        ga is not None and not np.allclose(ga, gb, rtol=1e-3, atol=1e-5)
    ):
        raise SystemExit(f"{name}: cnnlab and PyTorch disagree; not timing it")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=28)
    ap.add_argument("--features", type=int, default=28)
    ap.add_argument("--hidden", type=int, default=128)
    args = ap.parse_args(argv)
    threads = blas_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((args.batch, args.steps, args.features))
    x = x.astype(np.float32)
    rows = []
    for kind, backward in (("LSTM", True), ("LSTM", False), ("GRU", True), ("RNN", True)):
        name = f"{kind} {'forward+backward' if backward else 'forward'}"
        run_ours, run_theirs = _runs(*_pair(kind, args.features, args.hidden), x, backward)
        _check(name, run_ours, run_theirs)
        samples = {}
        t = interleaved(
            {"cnnlab": run_ours, "torch": run_theirs}, repeats=args.repeats, samples=samples
        )
        rows.append(
            {
                "workload": name,
                "cnnlab ms": f"{t['cnnlab'] * 1e3:.1f}",
                "torch ms": f"{t['torch'] * 1e3:.1f}",
                "ratio": f"{t['torch'] / t['cnnlab']:.2f}",
                "per-repeat ratios": ratio_range(samples, "torch", "cnnlab"),
            }
        )
    print(
        f"# batch {args.batch}, {args.steps} steps, {args.features} features, hidden "
        f"{args.hidden}; {platform.processor() or platform.machine()}, {threads} threads, "
        f"numpy {np.__version__}, torch {torch.__version__}"
    )
    print(table(rows, list(rows[0])))


if __name__ == "__main__":
    main()

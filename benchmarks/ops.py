"""Forward+backward time of single ops, cnnlab against PyTorch in the same process.

    python -m benchmarks.ops [--repeats 7]

Prints one row per op and shape: milliseconds for each framework and the speed ratio
(PyTorch time / cnnlab time: 1.0 means level, above 1 means cnnlab is faster).
"""

from __future__ import annotations

import argparse
import platform

import numpy as np

import cnnlab
import cnnlab.nn.functional as F
from benchmarks.common import blas_threads, interleaved, table

try:
    import torch
    import torch.nn.functional as TF
except ImportError as e:  # pragma: no cover
    raise SystemExit("benchmarks need PyTorch: pip install torch==2.13.0") from e


def _cases():
    rng = np.random.default_rng(0)

    def arr(*s):
        return rng.standard_normal(s).astype(np.float32)

    return [
        (
            "conv2d LeNet c1",
            (arr(64, 1, 28, 28), arr(6, 1, 5, 5), arr(6)),
            lambda x, w, b: F.conv2d(x, w, b, padding=2),
            lambda x, w, b: TF.conv2d(x, w, b, padding=2),
        ),
        (
            "conv2d LeNet c2",
            (arr(64, 6, 14, 14), arr(16, 6, 5, 5), arr(16)),
            lambda x, w, b: F.conv2d(x, w, b),
            lambda x, w, b: TF.conv2d(x, w, b),
        ),
        (
            "conv2d ResNet-20 16ch",
            (arr(128, 16, 32, 32), arr(16, 16, 3, 3), None),
            lambda x, w, b: F.conv2d(x, w, padding=1),
            lambda x, w, b: TF.conv2d(x, w, padding=1),
        ),
        (
            "conv2d ResNet-20 64ch/s2",
            (arr(128, 32, 16, 16), arr(64, 32, 3, 3), None),
            lambda x, w, b: F.conv2d(x, w, stride=2, padding=1),
            lambda x, w, b: TF.conv2d(x, w, stride=2, padding=1),
        ),
        (
            "max_pool2d 2x2 LeNet",
            (arr(64, 6, 28, 28),),
            lambda x: F.max_pool2d(x, 2),
            lambda x: TF.max_pool2d(x, 2),
        ),
        (
            "max_pool2d 2x2 VGG",
            (arr(128, 64, 32, 32),),
            lambda x: F.max_pool2d(x, 2),
            lambda x: TF.max_pool2d(x, 2),
        ),
        (
            "max_pool2d 3x3/s2/p1",
            (arr(64, 64, 56, 56),),
            lambda x: F.max_pool2d(x, 3, 2, 1),
            lambda x: TF.max_pool2d(x, 3, 2, 1),
        ),
        (
            "batch_norm ResNet-20",
            (arr(128, 16, 32, 32), arr(16), arr(16)),
            lambda x, w, b: F.batch_norm(x, cnnlab.zeros(16), cnnlab.ones(16), w, b, training=True),
            lambda x, w, b: TF.batch_norm(x, torch.zeros(16), torch.ones(16), w, b, training=True),
        ),
    ]


def _step(fn, arrays, make):
    ts = [None if a is None else make(a) for a in arrays]

    def run():
        out = fn(*ts)
        out.backward(grad_out(out))
        for t in ts:
            if t is not None:
                t.grad = None

    return run


def grad_out(out):
    if isinstance(out, cnnlab.Tensor):
        return np.ones(out.shape, np.float32)
    return torch.ones_like(out)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    threads = blas_threads()
    torch.set_num_threads(threads)
    rows = []
    for name, arrays, ours, theirs in _cases():
        t = interleaved(
            {
                "cnnlab": _step(ours, arrays, lambda a: cnnlab.tensor(a, requires_grad=True)),
                "torch": _step(theirs, arrays, lambda a: torch.tensor(a, requires_grad=True)),
            },
            repeats=args.repeats,
        )
        rows.append(
            {
                "op (forward+backward)": name,
                "cnnlab ms": f"{t['cnnlab'] * 1e3:.2f}",
                "torch ms": f"{t['torch'] * 1e3:.2f}",
                "speed ratio": f"{t['torch'] / t['cnnlab']:.2f}",
            }
        )
    print(
        f"# {platform.processor() or platform.machine()}, {threads} threads, "
        f"numpy {np.__version__}, torch {torch.__version__}"
    )
    print(table(rows, list(rows[0])))


if __name__ == "__main__":
    main()

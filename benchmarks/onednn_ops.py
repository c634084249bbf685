"""oneDNN kernels (cnnlab/kernels/onednn) against PyTorch and cnnlab's NumPy ops, one layer of
ResNet-20, LeNet-5 and fashion_cnn at a time, all timed side by side in one process.

    python -m benchmarks.onednn_ops [--repeats 7] [--only conv,bn,pool,eltwise]
    python -m benchmarks.onednn_ops --threads     # the OpenMP/OpenBLAS hand-over, per setting

Columns are milliseconds per call (medians of interleaved repeats; ``--clock cpu`` times the
process's CPU seconds instead of wall seconds); ratios are
``PyTorch / oneDNN`` and ``NumPy / oneDNN`` (above 1: the oneDNN kernel is faster). PyTorch
and oneDNN both run 2 OpenMP threads (one shared libgomp), cnnlab's NumPy ops its own pool.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

import cnnlab
import cnnlab.nn.functional as F
import cnnlab.threads
from benchmarks.common import table
from cnnlab.kernels import onednn
from cnnlab.kernels.onednn import norm as onednn_norm

# load oneDNN (and its libgomp) before PyTorch, so that both share cnnlab's OpenMP wait
# policy (passive unless OMP_WAIT_POLICY says otherwise); loaded after, PyTorch's default wins
onednn.available()

try:
    import torch  # noqa: E402
    import torch.nn.functional as TF  # noqa: E402
except ImportError as e:  # pragma: no cover
    raise SystemExit("benchmarks need PyTorch: pip install torch==2.13.0") from e

_rng = np.random.default_rng(0)
CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = time.perf_counter


def interleaved(fns: dict, repeats: int, min_time: float = 0.05) -> dict:
    """Median seconds per call of each function, timed in alternation (``--clock cpu``:
    the process's CPU seconds, all threads, steadier than wall time on a loaded machine)."""
    for f in fns.values():
        f()
    slowest = 0.0
    for f in fns.values():
        t0 = time.perf_counter()
        f()
        slowest = max(slowest, time.perf_counter() - t0)
    number = max(1, int(min_time / max(slowest, 1e-9)) + 1)
    samples = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = _clock()
            for _ in range(number):
                f()
            samples[k].append((_clock() - t0) / number)
    return {k: statistics.median(v) for k, v in samples.items()}


def _arr(*shape):
    return _rng.standard_normal(shape).astype(np.float32)


# (layer, x shape, w shape, stride, padding, bias)
CONVS = [
    ("ResNet-20 conv 3->16 @32", (128, 3, 32, 32), (16, 3, 3, 3), 1, 1, False),
    ("ResNet-20 conv 16 @32", (128, 16, 32, 32), (16, 16, 3, 3), 1, 1, False),
    ("ResNet-20 conv 16->32 s2", (128, 16, 32, 32), (32, 16, 3, 3), 2, 1, False),
    ("ResNet-20 conv 32 @16", (128, 32, 16, 16), (32, 32, 3, 3), 1, 1, False),
    ("ResNet-20 conv 32->64 s2", (128, 32, 16, 16), (64, 32, 3, 3), 2, 1, False),
    ("ResNet-20 conv 64 @8", (128, 64, 8, 8), (64, 64, 3, 3), 1, 1, False),
    ("LeNet-5 conv1 @28 b64", (64, 1, 28, 28), (6, 1, 5, 5), 1, 2, True),
    ("LeNet-5 conv2 @14 b64", (64, 6, 14, 14), (16, 6, 5, 5), 1, 0, True),
    ("fashion_cnn conv 1->32 @28", (128, 1, 28, 28), (32, 1, 3, 3), 1, 1, False),
    ("fashion_cnn conv 32->64 @14", (128, 32, 14, 14), (64, 32, 3, 3), 1, 1, False),
    ("fashion_cnn conv 64->128 @7", (128, 64, 7, 7), (128, 64, 3, 3), 1, 1, False),
]
BNS = [
    ("ResNet-20 BN 16 @32", (128, 16, 32, 32)),
    ("ResNet-20 BN 32 @16", (128, 32, 16, 16)),
    ("ResNet-20 BN 64 @8", (128, 64, 8, 8)),
    ("fashion_cnn BN 32 @28", (128, 32, 28, 28)),
    ("fashion_cnn BN 64 @14", (128, 64, 14, 14)),
    ("fashion_cnn BN 128 @7", (128, 128, 7, 7)),
]
# (layer, x shape, kernel, kind)
POOLS = [
    ("LeNet-5 pool 6 @28 b64", (64, 6, 28, 28), 2, "max"),
    ("LeNet-5 pool 16 @10 b64", (64, 16, 10, 10), 2, "max"),
    ("LeNet-5 (classic) avg 6 @28", (64, 6, 28, 28), 2, "avg"),
    ("fashion_cnn pool 32 @28", (128, 32, 28, 28), 2, "max"),
    ("fashion_cnn pool 64 @14", (128, 64, 14, 14), 2, "max"),
    ("ResNet-20 global avg 64 @8", (128, 64, 8, 8), 8, "avg"),
]
ACTS = [
    ("ReLU 16 @32", (128, 16, 32, 32), "relu"),
    ("ReLU 64 @8", (128, 64, 8, 8), "relu"),
    ("ReLU 32 @28 (fashion)", (128, 32, 28, 28), "relu"),
]


def _torch_step(fn, tensors, gy):
    """PyTorch forward + backward with autograd (gradients cleared each call)."""

    def run():
        for t in tensors:
            t.grad = None
        fn(*tensors).backward(gy)

    return run


def _cnnlab_step(fn, tensors, gy):
    def run():
        for t in tensors:
            t.grad = None
        (fn(*tensors) * gy).sum().backward()

    return run


def _row(name, t, pairs):
    row = {"layer": name}
    for label, ours, *others in pairs:
        row[f"{label} oneDNN ms"] = f"{t[ours] * 1e3:.2f}"
        for other in others:
            short = "torch" if other.startswith("torch") else "numpy"
            row[f"{label} {short}/oneDNN"] = f"{t[other] / t[ours]:.2f}"
    return row


def bench_conv(repeats):
    rows = []
    for name, xs, ws, s, p, bias in CONVS:
        x, w = _arr(*xs), _arr(*ws) * 0.1
        b = _arr(ws[0]) if bias else None
        a = {"stride": (s, s), "padding": (p,) * 4, "dilation": (1, 1), "groups": 1}
        y = onednn.conv2d_forward(x, w, b, **a)
        gy = _arr(*y.shape)
        tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
        tb = None if b is None else torch.tensor(b, requires_grad=True)
        tgy = torch.tensor(gy)
        cx, cw = cnnlab.tensor(x, requires_grad=True), cnnlab.tensor(w, requires_grad=True)
        cb = None if b is None else cnnlab.tensor(b, requires_grad=True)
        cgy = cnnlab.tensor(gy)
        bsizes = [ws[0]] if bias else None

        def torch_bwd(mask, tx=tx, tw=tw, tgy=tgy, bsizes=bsizes, s=s, p=p):
            return lambda: torch.ops.aten.convolution_backward(
                tgy, tx, tw, bsizes, [s, s], [p, p], [1, 1], False, [0, 0], 1, mask
            )

        def ours_step(x=x, w=w, b=b, gy=gy, a=a):
            onednn.conv2d_forward(x, w, b, **a)
            onednn.conv2d_backward_data(gy, w, x_shape=x.shape, **a)
            onednn.conv2d_backward_weights(x, gy, w_shape=w.shape, bias=b is not None, **a)

        def torch_fwd(tx=tx, tw=tw, tb=tb, s=s, p=p):
            with torch.no_grad():
                TF.conv2d(tx, tw, tb, s, p)

        def numpy_fwd(cx=cx, cw=cw, cb=cb, s=s, p=p):
            with cnnlab.no_grad():
                F.conv2d(cx, cw, cb, s, p)

        fns = {
            "fwd": lambda x=x, w=w, b=b, a=a: onednn.conv2d_forward(x, w, b, **a),
            "torch fwd": torch_fwd,
            "numpy fwd": numpy_fwd,
            "bwd_data": lambda gy=gy, w=w, x=x, a=a: onednn.conv2d_backward_data(
                gy, w, x_shape=x.shape, **a
            ),
            "torch bwd_data": torch_bwd([True, False, False]),
            "bwd_w": lambda x=x, gy=gy, w=w, b=b, a=a: onednn.conv2d_backward_weights(
                x, gy, w_shape=w.shape, bias=b is not None, **a
            ),
            "torch bwd_w": torch_bwd([False, True, bias]),
            "step": ours_step,
            "torch step": _torch_step(
                lambda x, w, *b, s=s, p=p: TF.conv2d(x, w, b[0] if b else None, s, p),
                [tx, tw] + ([tb] if bias else []),
                tgy,
            ),
            "numpy step": _cnnlab_step(
                lambda x, w, *b, s=s, p=p: F.conv2d(x, w, b[0] if b else None, s, p),
                [cx, cw] + ([cb] if bias else []),
                cgy,
            ),
        }
        t = interleaved(fns, repeats=repeats, min_time=0.05)
        pairs = [
            ("fwd", "fwd", "torch fwd", "numpy fwd"),
            ("bwd_data", "bwd_data", "torch bwd_data"),
            ("bwd_w", "bwd_w", "torch bwd_w"),
            ("fwd+bwd", "step", "torch step", "numpy step"),
        ]
        rows.append(_row(name, t, pairs))
    return rows


def _nhwc(a):
    """``a`` with channels-last strides (the same values)."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def bench_bn(repeats):
    rows = []
    for name, xs in BNS:
        c = xs[1]
        x, w, b, gy = _arr(*xs), _arr(c), _arr(c), _arr(*xs)
        _, mean, var = onednn.batch_norm_train_forward(x, w, b, eps=1e-5)
        tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
        cx, cw, cb = (cnnlab.tensor(v, requires_grad=True) for v in (x, w, b))
        tm, tv, cm, cv = torch.tensor(mean), torch.tensor(var), mean.copy(), var.copy()

        def ours_step(x, gy, w=w, b=b):
            def run():
                _, m, v = onednn.batch_norm_train_forward(x, w, b, eps=1e-5)
                onednn.batch_norm_backward(gy, x, w, m, v, eps=1e-5)

            return run

        def ours_eval(fn, x=x, w=w, b=b, m=mean, v=var):
            def run():
                fn(x, w, b, m, v, eps=1e-5)

            return run

        def torch_eval(tx=tx, tw=tw, tb=tb, tm=tm, tv=tv):
            with torch.no_grad():
                TF.batch_norm(tx, tm, tv, tw, tb)

        def numpy_eval(cx=cx, cw=cw, cb=cb, cm=cm, cv=cv):
            with cnnlab.no_grad(), cnnlab.set_kernels("numpy"):
                F.batch_norm(cx, cm, cv, cw, cb)

        fns = {
            "step": ours_step(x, gy),
            "nhwc step": ours_step(_nhwc(x), _nhwc(gy)),
            "torch step": _torch_step(
                lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
                [tx, tw, tb],
                torch.tensor(gy),
            ),
            "numpy step": _cnnlab_step(
                lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                [cx, cw, cb],
                cnnlab.tensor(gy),
            ),
            "eval": ours_eval(onednn.batch_norm_inference),
            "primitive eval": ours_eval(onednn_norm.batch_norm_inference_primitive),
            "torch eval": torch_eval,
            "numpy eval": numpy_eval,
        }
        t = interleaved(fns, repeats=repeats, min_time=0.05)
        row = _row(name, t, [("train fwd+bwd", "step", "torch step", "numpy step")])
        row["train NHWC / NCHW input"] = f"{t['nhwc step'] / t['step']:.2f}"
        row.update(_row(name, t, [("eval", "eval", "torch eval", "numpy eval")]))
        row["eval bn-primitive / affine"] = f"{t['primitive eval'] / t['eval']:.2f}"
        rows.append(row)
    return rows


def bench_pool(repeats):
    rows = []
    for name, xs, kk, kind in POOLS:
        x = _arr(*xs)
        a = {"kernel": (kk, kk), "stride": (kk, kk), "padding": (0, 0), "ceil_mode": False}
        if kind == "max":
            y, state = onednn.max_pool2d_forward(x, dilation=(1, 1), **a)
            fwd = lambda x=x, a=a: onednn.max_pool2d_forward(x, dilation=(1, 1), **a)  # noqa: E731

            def step(x=x, a=a):
                y, st = onednn.max_pool2d_forward(x, dilation=(1, 1), **a)
                onednn.max_pool2d_backward(np.ones_like(y), st)

            tf, cf = TF.max_pool2d, F.max_pool2d
        else:
            a["count_include_pad"] = True
            y = onednn.avg_pool2d_forward(x, **a)
            fwd = lambda x=x, a=a: onednn.avg_pool2d_forward(x, **a)  # noqa: E731

            def step(x=x, a=a):
                y = onednn.avg_pool2d_forward(x, **a)
                onednn.avg_pool2d_backward(np.ones_like(y), x_shape=x.shape, **a)

            tf, cf = TF.avg_pool2d, F.avg_pool2d
        tx, cx = torch.tensor(x, requires_grad=True), cnnlab.tensor(x, requires_grad=True)
        gy = np.ones(y.shape, np.float32)

        def torch_fwd(tx=tx, tf=tf, kk=kk):
            with torch.no_grad():
                tf(tx, kk)

        def numpy_fwd(cx=cx, cf=cf, kk=kk):
            with cnnlab.no_grad():
                cf(cx, kk)

        fns = {
            "fwd": fwd,
            "torch fwd": torch_fwd,
            "numpy fwd": numpy_fwd,
            "step": step,
            "torch step": _torch_step(lambda x, tf=tf, kk=kk: tf(x, kk), [tx], torch.tensor(gy)),
            "numpy step": _cnnlab_step(lambda x, cf=cf, kk=kk: cf(x, kk), [cx], cnnlab.tensor(gy)),
        }
        t = interleaved(fns, repeats=repeats, min_time=0.05)
        pairs = [
            ("fwd", "fwd", "torch fwd", "numpy fwd"),
            ("fwd+bwd", "step", "torch step", "numpy step"),
        ]
        rows.append(_row(name, t, pairs))
    return rows


def bench_eltwise(repeats):
    rows = []
    for name, xs, _ in ACTS:
        x, gy = _arr(*xs), _arr(*xs)
        fwd, tf, cf = onednn.relu_forward, TF.relu, F.relu

        def step(x=x, gy=gy):
            onednn.relu_backward(gy, onednn.relu_forward(x))

        tx, cx = torch.tensor(x, requires_grad=True), cnnlab.tensor(x, requires_grad=True)

        def torch_fwd(tx=tx, tf=tf):
            with torch.no_grad():
                tf(tx)

        def numpy_fwd(cx=cx, cf=cf):
            with cnnlab.no_grad():
                cf(cx)

        fns = {
            "fwd": lambda x=x, fwd=fwd: fwd(x),
            "torch fwd": torch_fwd,
            "numpy fwd": numpy_fwd,
            "step": step,
            "torch step": _torch_step(tf, [tx], torch.tensor(gy)),
            "numpy step": _cnnlab_step(cf, [cx], cnnlab.tensor(gy)),
        }
        t = interleaved(fns, repeats=repeats, min_time=0.05)
        pairs = [
            ("fwd", "fwd", "torch fwd", "numpy fwd"),
            ("fwd+bwd", "step", "torch step", "numpy step"),
        ]
        rows.append(_row(name, t, pairs))
    return rows


BENCHES = {"conv": bench_conv, "bn": bench_bn, "pool": bench_pool, "eltwise": bench_eltwise}


def _print(title, rows):
    print(f"\n## {title}")
    # one table per group of columns keeps each line readable
    cols = [c for c in rows[0] if c != "layer"]
    print(table(rows, ["layer", *cols]))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--only", default=",".join(BENCHES), help="comma list of " + ",".join(BENCHES))
    ap.add_argument("--num-threads", type=int, default=2, help="OpenMP threads (both libraries)")
    ap.add_argument("--clock", choices=list(CLOCK), default="wall")
    ap.add_argument("--threads", action="store_true", help="run the thread hand-over study")
    args = ap.parse_args(argv)
    if args.threads:
        from benchmarks.onednn_threads import main as threads_main

        return threads_main([])
    if not onednn.available():
        raise SystemExit(f"oneDNN kernels unavailable: {onednn.why_unavailable()}")
    global _clock
    _clock = CLOCK[args.clock]
    # one libgomp serves both: torch.set_num_threads sets oneDNN's thread count too
    torch.set_num_threads(args.num_threads)
    cnnlab.threads.set_num_threads(args.num_threads)
    i = onednn.info()
    print(
        f"# oneDNN {i['version']} ({i['isa']}, {i['threads']} OpenMP threads, runtime "
        f"{', '.join(i['openmp'])}); PyTorch {torch.__version__} ({torch.get_num_threads()} "
        f"threads); cnnlab NumPy ops with {cnnlab.threads.get_num_threads()} threads; "
        f"{platform.processor() or platform.machine()}, load average "
        f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}; {args.clock} clock; OpenMP wait "
        f"policy {i['wait_policy']}"
    )
    for name in args.only.split(","):
        _print(name, BENCHES[name](args.repeats))
    print(f"\n# load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())

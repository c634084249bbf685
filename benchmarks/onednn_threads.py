"""OpenMP (oneDNN) and OpenBLAS (NumPy) threads in one process: what each setting costs.

    python -m benchmarks.onednn_threads [--repeats 5]

Each setting runs in a fresh child process, because libgomp reads ``OMP_WAIT_POLICY`` /
``GOMP_SPINCOUNT`` / ``OMP_NUM_THREADS`` once, when it loads. The child times three loops:
oneDNN kernels alone (a ResNet-20 conv forward + backward, batch norm, ReLU), NumPy GEMMs
alone (a Linear layer's forward and backward through OpenBLAS), and the two alternating,
as in a training step; "mixed / parts" above 1 is what the hand-over costs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SETTINGS = {
    "default (2 OMP, 2 BLAS)": {},
    "OMP_WAIT_POLICY=passive": {"OMP_WAIT_POLICY": "passive"},
    "GOMP_SPINCOUNT=10000": {"GOMP_SPINCOUNT": "10000"},
    "BLAS held to 1 thread": {"_BLAS1": "1"},
    "passive + BLAS 1": {"OMP_WAIT_POLICY": "passive", "_BLAS1": "1"},
    "OMP_NUM_THREADS=1": {"OMP_NUM_THREADS": "1"},
    "OMP 1 + BLAS 1": {"OMP_NUM_THREADS": "1", "_BLAS1": "1"},
}


def _child(repeats: int) -> dict:
    import numpy as np

    from cnnlab.kernels import onednn

    if os.environ.get("_BLAS1"):
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, user_api="blas")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 16, 32, 32)).astype(np.float32)
    w = (rng.standard_normal((16, 16, 3, 3)) * 0.1).astype(np.float32)
    g, bb = np.ones(16, np.float32), np.zeros(16, np.float32)
    a = {"stride": (1, 1), "padding": (1, 1, 1, 1), "dilation": (1, 1), "groups": 1}
    fa = rng.standard_normal((128, 1024)).astype(np.float32)
    fw = rng.standard_normal((1024, 1024)).astype(np.float32)

    def kernels():
        y = onednn.conv2d_forward(x, w, None, **a)
        z, m, v = onednn.batch_norm_train_forward(y, g, bb, eps=1e-5)
        r = onednn.relu_forward(z)
        gz = onednn.relu_backward(r, r)
        gy, _, _ = onednn.batch_norm_backward(gz, y, g, m, v, eps=1e-5)
        onednn.conv2d_backward_data(gy, w, x_shape=x.shape, **a)
        onednn.conv2d_backward_weights(x, gy, w_shape=w.shape, bias=False, **a)

    def gemms():
        out = fa @ fw
        _ = out @ fw.T
        _ = fa.T @ out

    def mixed():
        kernels()
        gemms()

    def timed(fn):
        fn()
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(3):
                fn()
            ts.append((time.perf_counter() - t0) / 3)
        return statistics.median(ts)

    res = {"kernels": [], "gemms": [], "mixed": []}
    for _ in range(3):  # interleave the three loops so load drift hits them alike
        for name, fn in (("kernels", kernels), ("gemms", gemms), ("mixed", mixed)):
            res[name].append(timed(fn))
    out = {k: statistics.median(v) for k, v in res.items()}
    out["threads"] = onednn.info()["threads"]
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.repeats)))
        return
    from benchmarks.common import table

    rows = []
    for name, env in SETTINGS.items():
        child_env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS",)}
        child_env.update(env)
        cmd = [sys.executable, "-m", "benchmarks.onednn_threads", "--child"]
        cmd += ["--repeats", str(args.repeats)]
        out = subprocess.run(cmd, env=child_env, capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        parts = r["kernels"] + r["gemms"]
        rows.append(
            {
                "setting": name,
                "OMP threads": r["threads"],
                "oneDNN kernels ms": f"{r['kernels'] * 1e3:.1f}",
                "NumPy GEMMs ms": f"{r['gemms'] * 1e3:.1f}",
                "alternating ms": f"{r['mixed'] * 1e3:.1f}",
                "alternating / parts": f"{r['mixed'] / parts:.2f}",
            }
        )
        print(f"{name}: done (load {os.getloadavg()[0]:.1f})", file=sys.stderr)
    print(table(rows, list(rows[0])))
    print(f"# load average: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()

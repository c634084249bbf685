"""Data-parallel step time under MPI: compute, Allreduce, and images/s per world size.

    python -m benchmarks.distributed [--models fashion_cnn,lenet5] [--batch 64] [--steps 20]
    mpirun -n 2 --allow-run-as-root --oversubscribe --bind-to none \\
        python -m benchmarks.distributed --batch 64

Each rank times ``--steps`` training steps (after 3 warm-up steps) of each model on random
28x28 images with ``--batch`` images per rank: forward + loss + backward (``compute``), the
bucketed gradient Allreduce (``comm``) and the SGD update, plus a bare in-place Allreduce
of a buffer of the model's gradient size. Rank 0 prints one JSON line per model: median
step, compute and comm times (ms, the slowest rank's), images/s of the whole job (world x
batch / step) and the share of the step spent in the Allreduce. Compare ``mpirun -n 2``
(one thread per rank: ``OMP_NUM_THREADS=1``) with one process on two threads.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import cnnlab
from cnnlab import distributed as dist
from cnnlab import models, nn, optim


def _median_max(values: list[float]) -> float:
    med = np.array([float(np.median(values))])
    dist.all_reduce(med, op="max")  # the job runs at the pace of its slowest rank
    return float(med[0]) * 1e3


def bench_model(name: str, batch: int, steps: int, bucket_mb: float) -> dict:
    cnnlab.manual_seed(0)
    model = models.create(name, num_classes=10, in_channels=1)
    dist.broadcast_parameters(model)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(dist.rank())
    x = cnnlab.tensor(rng.normal(size=(batch, 1, 28, 28)).astype(np.float32))
    y = cnnlab.tensor(rng.integers(0, 10, batch))
    compute, comm, step = [], [], []
    for i in range(steps + 3):
        t0 = time.perf_counter()
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        t1 = time.perf_counter()
        dist.all_reduce_gradients(model, bucket_mb)
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        if i >= 3:
            compute.append(t1 - t0)
            comm.append(t2 - t1)
            step.append(t3 - t0)
    n_grad = sum(p.array.size for p in model.parameters())
    buf = np.zeros(n_grad, np.float32)
    bare = []
    for i in range(steps + 3):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(buf)
        if i >= 3:
            bare.append(time.perf_counter() - t0)
    buckets = getattr(model, "_cnnlab_grad_buckets", None)
    s = _median_max(step)
    c = _median_max(comm)
    return {
        "model": name,
        "world": dist.world_size(),
        "threads": cnnlab.get_num_threads() if hasattr(cnnlab, "get_num_threads") else None,
        "batch_per_rank": batch,
        "grad_mb": round(n_grad * 4 / 2**20, 2),
        "buckets": len(buckets) if buckets is not None else 0,
        "step_ms": round(s, 2),
        "compute_ms": round(_median_max(compute), 2),
        "comm_ms": round(c, 3),
        "bare_allreduce_ms": round(_median_max(bare), 3),
        "comm_share": round(c / s, 3),
        "img_per_s": round(dist.world_size() * batch / (s / 1e3), 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="fashion_cnn,lenet5")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--bucket-mb", type=float, default=4.0)
    args = p.parse_args()
    dist.init()
    for name in args.models.split(","):
        row = bench_model(name, args.batch, args.steps, args.bucket_mb)
        if dist.rank() == 0:
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()

"""Time the workloads of ``benchmarks.train_step`` in two cnnlab source trees (and PyTorch)
alternately, in one run, by CPU time.

    python -m benchmarks.compare_trees OLD_TREE NEW_TREE [--repeats 5] [--seconds 0.3]
                                       [--threads 1] [--torch] [--only resnet20-train,...]

Each tree (a checkout, e.g. ``git worktree add --detach /tmp/old 948ca4d``) runs in its own
worker process with its own ``cnnlab`` and builds each workload with its own
``benchmarks/train_step.py``; ``--torch`` adds two PyTorch workers (NCHW and channels_last,
built by NEW_TREE's twins, same weights). The parent asks the workers in turn (the order
rotating each repeat) for at least ``--seconds`` of CPU time of back-to-back steps of one
workload, and prints per workload the median CPU time per step of each side and, per repeat
and then as median (min-max), the speed ratios: old/new (above 1: the new tree is faster)
and torch/new, torch channels_last/new (above 1: cnnlab is faster).

CPU time (all the process's threads, ``time.process_time``) barely moves when other jobs
share the machine, where wall time mostly measures the scheduler; with ``--threads 1``
(cnnlab's pool, OpenMP, OpenBLAS and PyTorch all on one thread) it is also free of
threads spinning at barriers. Wall time is printed too, and the ratio of the fastest single
steps of the whole run ("fastest step"): on a loaded machine with several threads, the
closest thing to a quiet machine's wall time (a step during which no thread was
descheduled). The loss (training) or output sum (inference) of each side's first step is
printed: they must compute the same thing.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

WORKER = r"""
import sys, time, json
side, threads = sys.argv[1], int(sys.argv[2])
from benchmarks import train_step as ts
ts.torch.set_num_threads(threads)
ts.cnnlab.set_num_threads(threads)
steps, first = {}, {}
for w in ts.WORKLOADS:
    if w.name not in sys.argv[3].split(","):
        continue
    x, y = ts.batch(w)
    ours, theirs = ts.build(w)
    if side == "cnnlab":
        steps[w.name] = ts.cnnlab_step(ours, w, x, y)
    else:
        steps[w.name] = ts.torch_step(theirs, w, x, y, channels_last=side == "torch-cl")
    v = steps[w.name]()
    first[w.name] = v if isinstance(v, float) else float(v.sum().item())
    steps[w.name]()
print("ready", flush=True)
for line in sys.stdin:
    name, seconds = line.split()
    step, n, best = steps[name], 0, float("inf")
    t0, c0 = time.perf_counter(), time.process_time()
    while n == 0 or time.process_time() - c0 < float(seconds):
        s0 = time.perf_counter(); step(); n += 1
        best = min(best, time.perf_counter() - s0)
    t, c = (time.perf_counter() - t0) / n, (time.process_time() - c0) / n
    print(json.dumps({"t": t, "c": c, "b": best, "v": first[name]}), flush=True)
"""

ALL = (
    "lenet5-train,lenet5-infer,resnet20-train,resnet20-infer,vgg-style-train,"
    "fashion-cnn-train,efficientnet-ft-train"
)


def _spawn(side: str, tree: str, threads: int, only: str) -> subprocess.Popen:
    n = str(threads)
    env = {**os.environ, "PYTHONPATH": tree, "CNNLAB_NUM_THREADS": n, "OMP_NUM_THREADS": n}
    env["OPENBLAS_NUM_THREADS"] = n
    p = subprocess.Popen(
        [sys.executable, "-c", WORKER, side, n, only],
        cwd=tree,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if p.stdout.readline().strip() != "ready":
        raise SystemExit(f"compare_trees: the {side} worker in {tree} failed to start")
    return p


def _ask(p: subprocess.Popen, name: str, seconds: float) -> dict:
    p.stdin.write(f"{name} {seconds}\n")
    p.stdin.flush()
    return json.loads(p.stdout.readline())


def _spread(xs) -> str:
    xs = sorted(xs)
    return f"{statistics.median(xs):.3f} ({xs[0]:.2f}-{xs[-1]:.2f})"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seconds", type=float, default=0.3, help="CPU seconds per sample")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--torch", action="store_true", help="time PyTorch (NCHW, channels_last)")
    p.add_argument("--only", default=ALL)
    a = p.parse_args(argv)
    sides = {"old": ("cnnlab", a.old), "new": ("cnnlab", a.new)}
    if a.torch:
        sides.update(torch=("torch", a.new), torch_cl=("torch-cl", a.new))
    procs = {s: _spawn(kind, tree, a.threads, a.only) for s, (kind, tree) in sides.items()}
    names = list(procs)
    for name in a.only.split(","):
        cpu = {s: [] for s in names}
        wall = {s: [] for s in names}
        best = {s: [] for s in names}
        vals = {}
        for r in range(a.repeats):
            for s in names[r % len(names) :] + names[: r % len(names)]:
                d = _ask(procs[s], name, a.seconds)
                cpu[s].append(d["c"])
                wall[s].append(d["t"])
                best[s].append(d["b"])
                vals[s] = d["v"]
        med = "  ".join(f"{s} {statistics.median(cpu[s]) * 1e3:.1f}" for s in names)
        print(f"{name:<22} CPU ms/step  {med}")
        for s in names:
            if s != "new":
                ratios = [o / n for o, n in zip(cpu[s], cpu["new"])]
                walls = [o / n for o, n in zip(wall[s], wall["new"])]
                fast = min(best[s]) / min(best["new"])
                print(
                    f"{'':<22} {s}/new  CPU {_spread(ratios)}  wall {_spread(walls)}  "
                    f"fastest step {fast:.3f}"
                )
        print(f"{'':<22} values " + "  ".join(f"{s} {vals[s]:.6g}" for s in names), flush=True)
    for p_ in procs.values():
        p_.stdin.close()
        p_.wait()


if __name__ == "__main__":
    main()

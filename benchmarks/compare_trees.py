"""Time training/inference steps of two cnnlab source trees alternately, in one run.

    python -m benchmarks.compare_trees OLD_TREE NEW_TREE [--repeats 5] [--steps 3]
                                       [--only resnet20-train,lenet5-train]

Each tree (a checkout, e.g. ``git worktree add --detach /tmp/old main``) runs in its own
worker process with its own ``cnnlab``; the parent asks them in turn (the order alternating)
for ``--steps`` steps of one workload and prints, per workload, the median CPU time and wall
time per step of each and the new/old ratio of each repeat (median, min, max): the spread
says how noisy the machine was. CPU time (all the process's threads) moves less than wall
time on a machine shared with other work. The last loss (or output sum) of each is printed
too: the two must compute the same thing.
"""

import json
import os
import statistics
import subprocess
import sys

WORKER = r"""
import sys, time, json
import numpy as np
import cnnlab, cnnlab.nn.functional as F
from cnnlab import models, optim
W = {
    "lenet5-train": ("lenet5", (1, 28, 28), 64, True),
    "lenet5-infer": ("lenet5", (1, 28, 28), 256, False),
    "resnet20-train": ("resnet20", (3, 32, 32), 128, True),
    "resnet20-infer": ("resnet20", (3, 32, 32), 128, False),
    "fashion-cnn-train": ("fashion_cnn", (1, 28, 28), 128, True),
}
steps = {}
for name in sys.argv[1].split(","):
    model_name, shape, batch, train = W[name]
    cnnlab.manual_seed(0)
    kw = {"dropout": 0.0} if model_name == "fashion_cnn" else {}
    model = models.create(model_name, **kw)
    rng = np.random.default_rng(1)
    x = cnnlab.tensor(rng.standard_normal((batch, *shape)).astype(np.float32))
    y = cnnlab.tensor(rng.integers(0, 10, batch))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    def make(model=model, x=x, y=y, opt=opt, train=train):
        def step():
            model.train(train)
            if train:
                loss = F.cross_entropy(model(x), y)
                opt.zero_grad(); loss.backward(); opt.step()
                return float(loss.item())
            with cnnlab.no_grad():
                return float(model(x).numpy().sum())
        return step
    steps[name] = make()
    steps[name](); steps[name]()
print("ready", flush=True)
for line in sys.stdin:
    name, n = line.split()
    t0 = time.perf_counter(); c0 = time.process_time()
    for _ in range(int(n)):
        v = steps[name]()
    t, c = (time.perf_counter() - t0) / int(n), (time.process_time() - c0) / int(n)
    print(json.dumps({"t": t, "c": c, "v": v}), flush=True)
"""


def main():
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--only", default="lenet5-train,resnet20-train,resnet20-infer")
    a = p.parse_args()
    procs = {}
    for side, tree in (("old", a.old), ("new", a.new)):
        procs[side] = subprocess.Popen(
            [sys.executable, "-c", WORKER, a.only],
            cwd=tree,
            env={**os.environ, "PYTHONPATH": tree},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert procs[side].stdout.readline().strip() == "ready"
    for name in a.only.split(","):
        times = {"old": [], "new": []}
        cpu = {"old": [], "new": []}
        vals = {}
        for r in range(a.repeats):
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for side in order:
                procs[side].stdin.write(f"{name} {a.steps}\n")
                procs[side].stdin.flush()
                d = json.loads(procs[side].stdout.readline())
                times[side].append(d["t"])
                cpu[side].append(d["c"])
                vals[side] = d["v"]
        ratios = sorted(n / o for n, o in zip(times["new"], times["old"]))
        cr = sorted(n / o for n, o in zip(cpu["new"], cpu["old"]))
        print(
            f"{name:<18} CPU  old {statistics.median(cpu['old']) * 1e3:8.1f} ms  "
            f"new {statistics.median(cpu['new']) * 1e3:8.1f} ms  new/old median "
            f"{statistics.median(cr):.3f} (min {cr[0]:.3f}, max {cr[-1]:.3f})"
        )
        print(
            f"{name:<18} wall old {statistics.median(times['old']) * 1e3:8.1f} ms  "
            f"new {statistics.median(times['new']) * 1e3:8.1f} ms  new/old median "
            f"{statistics.median(ratios):.3f} (min {ratios[0]:.3f}, max {ratios[-1]:.3f})  "
            f"values {vals['old']:.6g} / {vals['new']:.6g}",
            flush=True,
        )
    for p_ in procs.values():
        p_.stdin.close()
        p_.wait()


if __name__ == "__main__":
    main()

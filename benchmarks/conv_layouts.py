"""Which image layout each oneDNN convolution call of one step runs fastest on.

    python -m benchmarks.conv_layouts [--only resnet20-train] [--which forward,data,weights]
                                      [--repeats 30] [--threads 1] [--wall]

Records the convolution calls (forward, input gradient, weight gradient) of one step of a
``benchmarks.train_step`` workload, then times each call, by CPU time on one thread
(median of ``--repeats``), with its primitive on NHWC, on oneDNN's own choice (ANY: the
channel-blocked layouts, the reorders inside the call) and on what
``cnnlab.kernels.onednn.conv_plans.inner_tag`` picks ("rule"): each choice's plan is built
once, then the three choices' calls alternate, so the load of a shared machine moves them
alike. Prints each call and the sums per step: the measurements ``inner_tag`` is built
from. ``--threads 2 --wall`` times what a user waits for on two cores instead (wall clock:
a quiet machine only).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import OrderedDict, defaultdict


def _forced(rule, which: str, tag: int):
    """``rule`` with the ``which`` primitive's layout forced to ``tag``."""
    return lambda what, *geometry: tag if what == which else rule(what, *geometry)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="resnet20-train")
    ap.add_argument("--which", default="forward,data,weights")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--wall", action="store_true", help="wall-clock time instead of CPU time")
    a = ap.parse_args(argv)
    clock = time.perf_counter if a.wall else time.process_time

    from benchmarks import train_step as ts
    from cnnlab import kernels
    from cnnlab.kernels.onednn import constants as k
    from cnnlab.kernels.onednn import conv, conv_plans, plan

    ts.cnnlab.set_num_threads(a.threads)
    ts.torch.set_num_threads(a.threads)
    fns = {"forward": "conv2d_forward", "data": "conv2d_backward_data"}
    fns["weights"] = "conv2d_backward_weights"
    onednn = kernels._backend("onednn")
    calls = []

    def recording(name):
        run = getattr(conv, name)

        def record(*args, **kwargs):
            calls.append((name, args, kwargs))
            return run(*args, **kwargs)

        return record

    rule = conv_plans.inner_tag
    for name in a.only.split(","):
        w = next(w for w in ts.WORKLOADS if w.name == name)
        x, y = ts.batch(w)
        step = ts.cnnlab_step(ts.build(w)[0], w, x, y)
        step()
        calls.clear()
        for f in fns.values():
            setattr(onednn, f, recording(f))
        try:
            step()
        finally:
            for f in fns.values():
                setattr(onednn, f, getattr(conv, f))
        totals = defaultdict(float)
        for which in a.which.split(","):
            for f, args, kwargs in (c for c in calls if c[0] == fns[which]):
                caches = {}  # each choice's plans, built once
                for choice in ("NHWC", "ANY", "rule"):
                    tag = k.TAG_NHWC if choice == "NHWC" else k.ANY
                    conv_plans.inner_tag = rule if choice == "rule" else _forced(rule, which, tag)
                    plan._local.plans = OrderedDict()
                    try:
                        getattr(conv, f)(*args, **kwargs)
                    finally:
                        conv_plans.inner_tag = rule
                    caches[choice] = plan._local.plans
                times = {choice: [] for choice in caches}
                for r in range(a.repeats):  # interleaved, the order alternating
                    for choice in list(caches)[:: 1 if r % 2 else -1]:
                        plan._local.plans = caches[choice]
                        c0 = clock()
                        getattr(conv, f)(*args, **kwargs)
                        times[choice].append(clock() - c0)
                row = {choice: statistics.median(t) * 1e3 for choice, t in times.items()}
                for choice, t in row.items():
                    totals[which, choice] += t
                shapes = [tuple(v.shape) for v in args if hasattr(v, "shape")]
                cells = "  ".join(f"{c} {t:7.2f}" for c, t in row.items())
                print(f"{name} {which:<8} {str(shapes):<52} groups {kwargs['groups']}  {cells}")
        plan._local.plans = OrderedDict()
        for (which, choice), t in sorted(totals.items()):
            print(f"{name} {which:<8} {choice:<5} {t:8.1f} ms per step")


if __name__ == "__main__":
    main()

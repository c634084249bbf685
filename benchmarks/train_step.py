"""Training and inference throughput, cnnlab against PyTorch CPU, same weights, same run.

    python -m benchmarks.train_step [--repeats 7] [--only lenet5-train,resnet20-train]
                                    [--no-memory] [--markdown] [--kernels NAME]

For each workload both frameworks get identical architectures and weights; the benchmark
first checks that they compute the same loss (and refuses to time a pair that disagrees), then
times them interleaved (median of repeats; the table also gives the lowest and highest ratio
of one repeat's side-by-side samples, a measure of the machine's noise), with PyTorch's
threads set to the BLAS threads cnnlab uses. A training step is forward + cross-entropy +
backward + SGD-momentum update. PyTorch is also timed with channels_last memory format, and
for inference with batch norm folded into the convolutions (``torch.fx``'s ``fuse``), which
as cnnlab's inference workloads do with ``model.fuse()`` (:mod:`cnnlab.nn.fusion`). Peak
memory is the resident-set growth of a fresh process running 5 steps of one framework (peak
RSS, ``VmHWM``, after minus RSS before building the model). The kernels cnnlab ran (from
``cnnlab.kernels.info()``) are printed after the table; ``--kernels`` forces a backend.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import subprocess
import sys
from dataclasses import dataclass

import numpy as np

import cnnlab
import cnnlab.nn.functional as F
from benchmarks.common import blas_threads, interleaved, ratio_range, table
from cnnlab import models, optim
from cnnlab import nn as cnn

try:
    import torch
except ImportError as e:  # pragma: no cover
    raise SystemExit("benchmarks need PyTorch: pip install torch==2.13.0") from e

from benchmarks import torch_twins


@dataclass
class Workload:
    name: str
    model: str
    shape: tuple
    batch: int
    train: bool
    target: float


# targets: the kernels issue's (#13) ratios to PyTorch CPU
WORKLOADS = [
    Workload("lenet5-train", "lenet5", (1, 28, 28), 64, True, 1.0),
    Workload("lenet5-infer", "lenet5", (1, 28, 28), 256, False, 1.2),
    Workload("resnet20-train", "resnet20", (3, 32, 32), 128, True, 1.0),
    Workload("resnet20-infer", "resnet20", (3, 32, 32), 128, False, 1.0),
    Workload("vgg-style-train", "vgg_style", (3, 32, 32), 128, True, 1.0),
    # the model `cnnlab train` trains by default (dropout off so both compute the same loss)
    Workload("fashion-cnn-train", "fashion_cnn", (1, 28, 28), 128, True, 1.0),
    # fine-tuning all of EfficientNet-Lite0 (ImageNet weights, fresh 10-class head, dropout
    # off) at 96 px, as `cnnlab train --pretrained --image-size 96`; no target in #13
    Workload("efficientnet-ft-train", "efficientnet_lite0", (3, 96, 96), 32, True, 1.0),
]


def build(w: Workload):
    """(cnnlab model, torch model) with the same weights."""
    cnnlab.manual_seed(0)
    if w.model == "vgg_style":
        ours = torch_twins.vgg_style_layers(cnn)
        theirs = torch_twins.vgg_style_layers(torch.nn)
    elif w.model == "fashion_cnn":
        ours = models.create(w.model, dropout=0.0)
        theirs = torch_twins.FashionCNN()
    elif w.model == "efficientnet_lite0":
        from benchmarks.transfer_features import torch_twin

        ours = models.create(w.model, pretrained=True, num_classes=10, dropout=0.0)
        return ours, torch_twin(ours.state_dict(), logits=True)
    else:
        ours = models.create(w.model)
        theirs = {"lenet5": torch_twins.LeNet5, "resnet20": torch_twins.ResNet20}[w.model]()
    torch_twins.load_from(theirs, ours.state_dict())
    return ours, theirs


def batch(w: Workload):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((w.batch, *w.shape)).astype(np.float32)
    y = rng.integers(0, 10, w.batch)
    return x, y


def cnnlab_step(model, w: Workload, x, y):
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xt, yt = cnnlab.tensor(x), cnnlab.tensor(y)
    model.train(w.train)

    def train():
        loss = F.cross_entropy(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.item())

    if not w.train:  # inference as a user would run it: batch norm folded (cnnlab.nn.fusion)
        model = copy.deepcopy(model).eval().fuse()

    def infer():
        with cnnlab.no_grad():
            return model(xt)

    return train if w.train else infer


def torch_step(model, w: Workload, x, y, channels_last=False, fused=False):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        xt = xt.contiguous(memory_format=torch.channels_last)
    model.train(w.train)
    if fused:  # inference with PyTorch's own conv + batch-norm folding (torch.fx)
        from torch.fx.experimental.optimization import fuse

        model = fuse(model.eval())

    def train():
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.item())

    def infer():
        with torch.no_grad():
            return model(xt)

    return train if w.train else infer


def check_same_loss(ours, theirs, w: Workload, x, y) -> float:
    ours.train(w.train)
    theirs.train(w.train)
    with cnnlab.no_grad():
        a = float(F.cross_entropy(ours(cnnlab.tensor(x)), cnnlab.tensor(y)).item())
    with torch.no_grad():
        b = float(
            torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x)), torch.from_numpy(y))
        )
    if not np.isclose(a, b, rtol=1e-4, atol=1e-5):
        raise SystemExit(
            f"{w.name}: losses disagree (cnnlab {a:.6f}, torch {b:.6f}); "
            "refusing to time a pair that computes different things"
        )
    return a


_MEMORY_SNIPPET = """
import resource, sys, json
sys.path.insert(0, {root!r})
import numpy as np
from benchmarks import train_step as ts


def rss(field):
    # /proc's VmHWM starts afresh at exec; ru_maxrss keeps the parent's peak from before the
    # fork, so in a child of a big benchmark process it reads the parent's size
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


w = [w for w in ts.WORKLOADS if w.name == {name!r}][0]
x, y = ts.batch(w)
ts.torch.set_num_threads({threads})
ts.cnnlab.set_kernels({kernels!r})
before = rss("VmRSS")
ours, theirs = ts.build(w)
step = ts.cnnlab_step(ours, w, x, y) if {fw!r} == "cnnlab" else ts.torch_step(theirs, w, x, y)
for _ in range(5):
    step()
after = rss("VmHWM")
print(json.dumps({{"mib": (after - before) / 1024}}))
"""


def peak_memory(w: Workload, framework: str, threads: int, kernels: str = "auto") -> float:
    import pathlib

    root = str(pathlib.Path(__file__).resolve().parents[1])
    code = _MEMORY_SNIPPET.format(
        root=root, name=w.name, fw=framework, threads=threads, kernels=kernels
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["mib"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--only", default="", help="comma-separated workload names")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument(
        "--kernels",
        default="auto",
        choices=["auto", "onednn", "numpy", "reference"],
        help="the kernels cnnlab runs (cnnlab.set_kernels); default auto",
    )
    args = ap.parse_args(argv)
    cnnlab.set_kernels(args.kernels)
    threads = blas_threads()
    torch.set_num_threads(threads)
    chosen = [w for w in WORKLOADS if not args.only or w.name in args.only.split(",")]
    rows = []
    for w in chosen:
        x, y = batch(w)
        ours, theirs = build(w)
        check_same_loss(ours, theirs, w, x, y)
        _, theirs_cl = build(w)
        fused = {}
        if not w.train:  # against PyTorch folding batch norm too (cnnlab folds by itself)
            _, theirs_fused = build(w)
            fused = {"torch_fused": torch_step(theirs_fused, w, x, y, fused=True)}
        samples: dict = {}
        t = interleaved(
            {
                "cnnlab": cnnlab_step(ours, w, x, y),
                "torch": torch_step(theirs, w, x, y),
                "torch_cl": torch_step(theirs_cl, w, x, y, channels_last=True),
                **fused,
            },
            repeats=args.repeats,
            samples=samples,
        )
        row = {
            "workload": f"{w.name} (batch {w.batch})",
            "cnnlab img/s": f"{w.batch / t['cnnlab']:.0f}",
            "torch img/s": f"{w.batch / t['torch']:.0f}",
            "ratio": f"{t['torch'] / t['cnnlab']:.2f}",
            "per-repeat ratios": ratio_range(samples, "torch", "cnnlab"),
            "target": f">= {w.target}",
            "vs channels_last": f"{t['torch_cl'] / t['cnnlab']:.2f}",
            "vs torch fused": f"{t['torch_fused'] / t['cnnlab']:.2f}" if fused else "-",
        }
        if not args.no_memory:
            mo = peak_memory(w, "cnnlab", threads, args.kernels)
            mt = peak_memory(w, "torch", threads)
            row["cnnlab MiB"] = f"{mo:.0f}"
            row["torch MiB"] = f"{mt:.0f}"
            row["mem ratio"] = f"{mo / max(mt, 1):.2f}"
        rows.append(row)
        print(f"{row['workload']}: ratio {row['ratio']}", file=sys.stderr, flush=True)
    cols = list(rows[0])
    header = (
        f"{platform.machine()}, {threads} threads, numpy {np.__version__}, "
        f"torch {torch.__version__}"
    )
    if args.markdown:
        print(f"_{header}_\n")
        print("| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
        for r in rows:
            print("| " + " | ".join(r[c] for c in cols) + " |")
    else:
        print(f"# {header}")
        print(table(rows, cols))
    print(kernels_ran(markdown=args.markdown))


def kernels_ran(markdown: bool = False) -> str:
    """Which backend ran each op for the dtypes the workloads used, from ``info()``."""
    from cnnlab import kernels

    info = kernels.info()
    ran = ", ".join(f"{op} {v['backend']}" for op, v in sorted(info["last"].items()))
    onednn = info["onednn"]
    available = onednn.get("available", True)
    isa = f"; oneDNN {onednn}" if available else f"; oneDNN not available: {onednn.get('why')}"
    text = f"kernels ({info['choice']}): {ran or 'none ran'}{isa}"
    return f"\n_{text}_" if markdown else text


if __name__ == "__main__":
    main()

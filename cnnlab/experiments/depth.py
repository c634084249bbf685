"""``depth``: plain against residual networks (He et al. 2016, fig. 1 and 6).

The zoo's ``plain20``, ``plain56``, ``resnet20`` and ``resnet56`` trained with the same
schedule; training error (dashed, in eval mode on a fixed set of training images) and test
error (solid) against iterations, as in the paper's figures.
"""

from __future__ import annotations

import numpy as np

from cnnlab import models
from cnnlab.experiments import report
from cnnlab.experiments.plots import plot_groups
from cnnlab.experiments.probes import EvalEvery
from cnnlab.experiments.registry import Experiment, register
from cnnlab.experiments.runner import SubRun, base_settings, eval_rows

MODELS = ("plain20", "plain56", "resnet20", "resnet56")


def _zoo(name: str):
    # straight from the zoo: recipes.build_model would pass input_size, which the CIFAR
    # ResNet factories accept through **options but CifarResNet rejects
    def build(cfg, info):
        return models.create(name, num_classes=info["num_classes"], in_channels=info["in_channels"])

    return build


def plan(ctx) -> list[SubRun]:
    k = ctx.knobs
    return [
        SubRun(
            name=f"{m}-seed{seed}",
            group=m,
            seed=seed,
            settings=base_settings(
                ctx,
                seed,
                model=m,
                epochs=k["epochs"],
                batch_size=k["batch_size"],
                limit=k["images"],
                test_limit=k["test_images"],
                lr=k["lr"],
                momentum=0.9,
                weight_decay=1e-4,
                warmup_epochs=k["warmup_epochs"],
                schedule=k["schedule"],
                augment=k["augment"],
            ),
            build_model=_zoo(m),
            callbacks=lambda: [EvalEvery(k["eval_every"], k["eval_images"], k["eval_images"])],
        )
        for m in MODELS
        for seed in ctx.seeds
    ]


def _errors(rec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = [r for r in eval_rows(rec) if r["step"] > 0]
    steps = np.array([r["step"] for r in rows])
    return steps, 1 - np.array([r["acc"] for r in rows]), 1 - np.array([r["val_acc"] for r in rows])


def analyse(ctx, records: dict) -> dict:
    k = ctx.knobs
    by = {m: [r for r in records.values() if r["group"] == m] for m in MODELS}
    train_err = {m: [float(_errors(r)[1][-1]) for r in by[m]] for m in MODELS}
    test_err = {m: [float(_errors(r)[2][-1]) for r in by[m]] for m in MODELS}
    # share of the evaluations (after step 0) at which plain-56 trains worse than plain-20
    above = []
    for a, b in zip(by["plain56"], by["plain20"]):
        _, ea, _ = _errors(a)
        _, eb, _ = _errors(b)
        n = min(len(ea), len(eb))
        above.append(float(np.mean(ea[:n] > eb[:n])) if n else float("nan"))
    f = report.fmt
    res_diff = [a - b for a, b in zip(train_err["resnet56"], train_err["resnet20"])]
    crit = [
        report.criterion(
            f"the deeper plain net has the higher training error at the end: plain-56 "
            f"{f(train_err['plain56'])} against plain-20 {f(train_err['plain20'])}",
            report.compare(train_err["plain56"], train_err["plain20"], 0.0),
        ),
        report.criterion(
            f"...throughout: plain-56's training error is above plain-20's at "
            f"{f(above, 2, percent=True)} of the evaluations (at least 80%)",
            "holds" if min(above) >= 0.8 else ("fails" if max(above) < 0.5 else "unclear"),
        ),
        report.criterion(
            f"with residual connections the deeper net is at least as good: ResNet-56 "
            f"training error {f(train_err['resnet56'])} against ResNet-20 "
            f"{f(train_err['resnet20'])} (difference {np.mean(res_diff):+.3f}; at most +0.01 "
            "holds, more than +0.03 fails)",
            "holds" if max(res_diff) <= 0.01 else ("fails" if min(res_diff) > 0.03 else "unclear"),
        ),
    ]
    rows = [[m, f(train_err[m]), f(test_err[m]), len(by[m])] for m in MODELS]
    steps = max(int(_errors(r)[0][-1]) for r in records.values() if len(_errors(r)[0]))
    return {
        "setup": [
            "networks: the zoo's `plain20`, `plain56`, `resnet20`, `resnet56` (He et al.'s "
            "CIFAR family: 3x3 convs with batch norm, 16-32-64 channels, option-A shortcuts)",
            f"training: {k['epochs']} epoch(s) of {k['images'] or ctx.n_train} images "
            f"({steps} iterations), batch {k['batch_size']}, SGD (Nesterov momentum 0.9), lr "
            f"{k['lr']}, schedule {k['schedule']}, weight decay 1e-4"
            + (", augmentation" if k["augment"] else ""),
            f"errors every {k['eval_every']} iterations, in eval mode, on the first "
            f"{k['eval_images']} training and test images",
        ],
        "table": {
            "columns": ["network", "final training error", "final test error", "seeds"],
            "rows": rows,
        },
        "figures": [_plot(ctx, records)],
        "criteria": crit,
        "numbers": {
            "train_error": train_err,
            "test_error": test_err,
            "plain56_above_plain20": above,
            "iterations": steps,
        },
        "spread_note": "Each number is the mean over seeds with the seeds' range in brackets.",
    }


def _plot(ctx, records) -> dict:
    fig = report.figure(11, 4)
    axes = fig.subplots(1, 2, sharey=True)
    colors = {"plain20": "C1", "plain56": "C3", "resnet20": "C1", "resnet56": "C3"}
    for ax, pair, title in (
        (axes[0], ["plain20", "plain56"], "plain"),
        (axes[1], ["resnet20", "resnet56"], "ResNet"),
    ):
        plot_groups(
            ax, records, pair, "acc", error=True, style="--", colors=colors, label_suffix=" train"
        )
        plot_groups(
            ax, records, pair, "val_acc", error=True, style="-", colors=colors, label_suffix=" test"
        )
        ax.set_title(f"{title}: training (dashed) and test (solid) error")
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("error")
    name = report.save(fig, ctx.out / "depth.png")
    return {
        "file": name,
        "caption": "Plain against residual nets: training (dashed) and test "
        "(solid) error against iterations, as in He et al. 2016 fig. 1 and 6",
    }


def check_data(data, shape, n_train) -> str | None:
    c, h, w = shape
    if min(h, w) < 16:
        return (
            f"the networks halve the image twice; on {h}x{w} images the last stage "
            "would see 2x2 or less. It needs images of at least 16x16"
        )
    return None


EXPERIMENT = register(
    Experiment(
        name="depth",
        title="Depth: deeper plain nets train worse, residual nets do not",
        claim="When deeper networks are able to start converging, a degradation problem has "
        "been exposed: with the network depth increasing, accuracy gets saturated and then "
        "degrades rapidly. ... the 56-layer plain network has higher training error "
        "throughout training; with residual learning the deeper net is at least as good.",
        source="K. He, X. Zhang, S. Ren, J. Sun, 'Deep Residual Learning for Image "
        "Recognition', CVPR 2016, fig. 1 and 6 (CIFAR-10); the Columbia deck's ResNet slides",
        budgets={
            "quick": dict(
                images=640,
                epochs=1,
                batch_size=32,
                lr=0.05,
                warmup_epochs=0.1,
                schedule="cosine",
                augment=False,
                eval_every=8,
                eval_images=200,
                test_images=500,
            ),
            # 600 iterations: at 200 (12800 images) ResNet-56 still trailed ResNet-20 (training
            # error 0.190 against 0.124); at 600 it is level (0.074 against 0.076): README
            "standard": dict(
                images=38400,
                epochs=1,
                batch_size=64,
                lr=0.05,
                warmup_epochs=0.1,
                schedule="cosine",
                augment=False,
                eval_every=40,
                eval_images=500,
                test_images=2000,
            ),
            # the paper: 64k iterations of batch 128 (164 epochs of 50k CIFAR-10 images), lr 0.1
            # divided by 10 at 32k and 48k, weight decay 1e-4, crops and flips
            "full": dict(
                images=None,
                epochs=164,
                batch_size=128,
                lr=0.1,
                warmup_epochs=0.0,
                schedule="steps",
                augment=True,
                eval_every=1000,
                eval_images=2000,
                test_images=None,
            ),
        },
        seeds={"quick": 1, "standard": 1, "full": 1},
        plan=plan,
        analyse=analyse,
        check_data=check_data,
    )
)

"""``batchnorm``: Ioffe & Szegedy 2015, fig. 1, and the same comparison on a conv net.

A fully connected network of three hidden layers of 100 sigmoid units (``builders.deep_mlp``,
depth 4), batch 60, with and without batch norm before each sigmoid: test accuracy against
steps, and the 15th/50th/85th percentiles of one last-hidden-layer unit's input over
training (``probes.UnitPercentiles``). Then a two-layer sigmoid conv net
(``builders.pooling_cnn``) with and without batch norm.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.experiments import report
from cnnlab.experiments.builders import deep_mlp, pooling_cnn
from cnnlab.experiments.plots import plot_groups
from cnnlab.experiments.probes import EvalEvery, UnitPercentiles, read_csv
from cnnlab.experiments.registry import Experiment, register
from cnnlab.experiments.runner import SubRun, base_settings, eval_rows

GROUPS = ("mlp", "mlp-bn", "cnn", "cnn-bn")


def _mlp(bn: bool):
    def build(cfg, info):
        c, h, w = info["in_channels"], *info["input_size"]
        return deep_mlp(c * h * w, info["num_classes"], 4, 100, "sigmoid", batch_norm=bn)

    return build


def _cnn(bn: bool):
    def build(cfg, info):
        h, w = info["input_size"]
        return pooling_cnn(
            info["in_channels"], info["num_classes"], h, "max", (32, 64), bn, "sigmoid"
        )

    return build


def plan(ctx) -> list[SubRun]:
    k = ctx.knobs
    subs = []
    for group in GROUPS:
        net, bn = group.split("-")[0], group.endswith("-bn")
        images, epochs = k[f"{net}_images"], k[f"{net}_epochs"]
        every = k[f"{net}_eval_every"]
        for seed in ctx.seeds:
            settings = base_settings(
                ctx,
                seed,
                model=f"sigmoid_{net}{'_bn' if bn else ''}",
                epochs=epochs,
                batch_size=60,
                limit=images,
                test_limit=k["test_images"],
                lr=k["lr"],
                momentum=0.9,
                schedule="constant",
            )
            subs.append(
                SubRun(
                    name=f"{group}-seed{seed}",
                    group=group,
                    seed=seed,
                    settings=settings,
                    build_model=(_mlp if net == "mlp" else _cnn)(bn),
                    callbacks=lambda every=every: [
                        EvalEvery(every, k["eval_images"], k["eval_images"]),
                        UnitPercentiles(every, unit=0, images=k["eval_images"]),
                    ],
                )
            )
    return subs


def _mean_acc(rec) -> float:
    """Mean test accuracy over the evaluations after step 0: the area under the curve."""
    vals = [r["val_acc"] for r in eval_rows(rec) if r["step"] > 0]
    return float(np.mean(vals)) if vals else float("nan")


def _early_acc(rec, fraction: float = 0.2) -> float:
    """Test accuracy at the first evaluation after ``fraction`` of the run."""
    rows = [r for r in eval_rows(rec) if r["step"] > 0]
    if not rows:
        return float("nan")
    last = rows[-1]["step"]
    return float(next(r["val_acc"] for r in rows if r["step"] >= fraction * last))


def _drift(rec) -> float:
    """How far the unit's input distribution moves during training: the mean over the
    15th/50th/85th percentiles of (max - min over the probes after step 0), divided by the
    mean width p85 - p15. (Step 0 is left out: batch norm's running statistics start at
    mean 0, variance 1 before any batch has been seen.)"""
    rows = [r for r in read_csv(Path(rec["dir"]) / "percentiles.csv") if r["step"] > 0]
    p = np.array([[r["p15"], r["p50"], r["p85"]] for r in rows])
    width = float(np.mean(p[:, 2] - p[:, 0]))
    return float(np.mean(p.max(axis=0) - p.min(axis=0)) / max(width, 1e-12))


def analyse(ctx, records: dict) -> dict:
    k = ctx.knobs
    by = {g: [r for r in records.values() if r["group"] == g] for g in GROUPS}
    final = {g: [r["summary"]["test_acc"] for r in by[g] if r["summary"]] for g in GROUPS}
    mean = {g: [_mean_acc(r) for r in by[g]] for g in GROUPS}
    early = {g: [_early_acc(r) for r in by[g]] for g in GROUPS}
    drift = {g: [_drift(r) for r in by[g]] for g in GROUPS}
    f = report.fmt
    crit = [
        report.criterion(
            f"MLP: batch norm trains faster: test accuracy at 20% of the steps "
            f"{f(early['mlp-bn'])} against {f(early['mlp'])} without, by more than 0.01 on "
            f"every seed",
            report.compare(early["mlp-bn"], early["mlp"], 0.01),
        ),
        report.criterion(
            f"MLP: batch norm's mean test accuracy over training {f(mean['mlp-bn'])} against "
            f"{f(mean['mlp'])} without",
            report.compare(mean["mlp-bn"], mean["mlp"], 0.0),
        ),
        report.criterion(
            f"MLP: the last hidden layer's input distribution is steadier with batch norm: "
            f"drift {f(drift['mlp-bn'], 2)} against {f(drift['mlp'], 2)} without (range of the "
            f"percentiles over training / their 15-85 width)",
            report.compare(drift["mlp"], drift["mlp-bn"], 0.0),
        ),
        report.criterion(
            f"conv net: batch norm's mean test accuracy over training {f(mean['cnn-bn'])} "
            f"against {f(mean['cnn'])} without",
            report.compare(mean["cnn-bn"], mean["cnn"], 0.0),
        ),
    ]
    rows = [[g, f(early[g]), f(mean[g]), f(final[g]), f(drift[g], 2), len(by[g])] for g in GROUPS]
    return {
        "setup": [
            "MLP (Ioffe & Szegedy fig. 1): 3 fully connected hidden layers of 100 sigmoid "
            "units, batch norm before each sigmoid in `mlp-bn` (`builders.deep_mlp`)",
            "conv net: conv3x3(32)-sigmoid-maxpool-conv3x3(64)-sigmoid-maxpool-linear, batch "
            "norm before each sigmoid in `cnn-bn` (`builders.pooling_cnn`)",
            f"SGD (Nesterov momentum 0.9), constant lr {k['lr']}, batch 60; MLP "
            f"{k['mlp_epochs']} epoch(s) of {k['mlp_images']} images, conv net "
            f"{k['cnn_epochs']} of {k['cnn_images']}",
            f"test accuracy and unit 0's percentiles every {k['mlp_eval_every']} (MLP) / "
            f"{k['cnn_eval_every']} (conv) steps on the first {k['eval_images']} test images; "
            f"final accuracy on {k['test_images']} test images",
        ],
        "table": {
            "columns": [
                "network",
                "test acc at 20% of steps",
                "mean test acc over training",
                "final test acc",
                "distribution drift",
                "seeds",
            ],
            "rows": rows,
        },
        "figures": [_plot(ctx, records, by)],
        "criteria": crit,
        "numbers": {"final_acc": final, "mean_acc": mean, "early_acc": early, "drift": drift},
        "spread_note": "Each number is the mean over seeds with the seeds' range in brackets; "
        "a comparison holds only when every seed of one side beats every seed of the other.",
    }


def _plot(ctx, records, by) -> dict:
    fig = report.figure(11, 8)
    axes = fig.subplots(2, 2)
    ax = axes[0, 0]
    plot_groups(
        ax,
        records,
        ["mlp", "mlp-bn"],
        "val_acc",
        colors={"mlp": "C0", "mlp-bn": "C3"},
        labels={"mlp": "without BN", "mlp-bn": "with BN"},
    )
    ax.set_title("(a) MLP: test accuracy")
    ax.set_xlabel("step")
    ax.legend()
    for ax, g, title in (
        (axes[0, 1], "mlp", "(b) without BN"),
        (axes[1, 0], "mlp-bn", "(c) with BN"),
    ):
        rows = read_csv(Path(by[g][0]["dir"]) / "percentiles.csv")
        steps = [r["step"] for r in rows]
        for q, style in (("p15", "--"), ("p50", "-"), ("p85", "--")):
            ax.plot(steps, [r[q] for r in rows], style, color="C3" if "bn" in g else "C0")
        ax.set_title(f"{title}: a sigmoid's input, 15/50/85th pct")
        ax.set_xlabel("step")
    lo = min(min(ax.get_ylim()[0] for ax in (axes[0, 1], axes[1, 0])), 0)
    hi = max(ax.get_ylim()[1] for ax in (axes[0, 1], axes[1, 0]))
    for ax in (axes[0, 1], axes[1, 0]):
        ax.set_ylim(lo, hi)
    ax = axes[1, 1]
    plot_groups(
        ax,
        records,
        ["cnn", "cnn-bn"],
        "val_acc",
        colors={"cnn": "C0", "cnn-bn": "C3"},
        labels={"cnn": "without BN", "cnn-bn": "with BN"},
    )
    ax.set_title("(d) sigmoid conv net: test accuracy")
    ax.set_xlabel("step")
    ax.legend()
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    name = report.save(fig, ctx.out / "batchnorm.png")
    return {
        "file": name,
        "caption": "Batch norm: test accuracy against steps and the "
        "input distribution of one sigmoid (seed 0), as in Ioffe & Szegedy's fig. 1",
    }


def check_data(data, shape, n_train) -> str | None:
    c, h, w = shape
    if min(h, w) < 8:
        return f"the conv net pools twice and needs images of at least 8x8, these are {h}x{w}"
    return None


EXPERIMENT = register(
    Experiment(
        name="batchnorm",
        title="Batch normalisation: faster training, a steadier input distribution",
        claim="Batch Normalization ... reduces internal covariate shift: the network trains "
        "faster and reaches higher accuracy, and the distribution of a sigmoid's input stays "
        "much more stable over training (Ioffe & Szegedy 2015, fig. 1: MNIST, three fully "
        "connected layers of 100 sigmoid units, batch 60).",
        source="S. Ioffe, C. Szegedy, 'Batch Normalization: Accelerating Deep Network Training "
        "by Reducing Internal Covariate Shift', ICML 2015, sec. 4.1 and fig. 1; the lectures' "
        "batch-norm slides",
        budgets={
            "quick": dict(
                mlp_images=6000,
                mlp_epochs=2,
                cnn_images=1800,
                cnn_epochs=2,
                mlp_eval_every=20,
                cnn_eval_every=10,
                eval_images=500,
                test_images=1000,
                lr=0.01,
            ),
            "standard": dict(
                mlp_images=60000,
                mlp_epochs=3,
                cnn_images=6000,
                cnn_epochs=2,
                mlp_eval_every=100,
                cnn_eval_every=20,
                eval_images=2000,
                test_images=10000,
                lr=0.01,
            ),
            "full": dict(
                mlp_images=60000,
                mlp_epochs=50,
                cnn_images=60000,
                cnn_epochs=10,
                mlp_eval_every=1000,
                cnn_eval_every=500,
                eval_images=10000,
                test_images=10000,
                lr=0.01,
            ),
        },
        seeds={"quick": 1, "standard": 2, "full": 3},
        plan=plan,
        analyse=analyse,
        check_data=check_data,
    )
)

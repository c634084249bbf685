"""``init``: how the weights' scale decides whether a deep plain ReLU network trains.

A 30-layer fully connected ReLU network (``builders.deep_mlp``) with four initialisations:
He (N(0, 2/k)), Xavier/Glorot (N(0, 2/(k+m))), N(0, 0.01^2) and N(0, 1). Before training,
the standard deviation of every layer's output and of the loss gradient with respect to it
on 256 training images (deterministic for a seed); then the same networks trained.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from cnnlab.experiments import report
from cnnlab.experiments.builders import deep_mlp, deep_mlp_budgets
from cnnlab.experiments.plots import plot_groups
from cnnlab.experiments.probes import EvalEvery, first_images, layer_statistics
from cnnlab.experiments.registry import Experiment, register
from cnnlab.experiments.runner import SubRun, base_settings

INITS = ("he", "xavier", "small", "large")
LABELS = {"he": "He N(0, 2/k)", "xavier": "Xavier", "small": "N(0, 0.01^2)", "large": "N(0, 1)"}
STATS_IMAGES = 256


class LayerStats:
    """Before the first step: ``probes.layer_statistics`` to ``layer_stats.json``."""

    def on_fit_start(self, trainer) -> None:
        x, y = first_images(trainer.train_loader.dataset, STATS_IMAGES)
        stats = layer_statistics(trainer.model, x, y)
        trainer.model.zero_grad()
        path = Path(trainer.out_dir) / "layer_stats.json"
        path.write_text(json.dumps(report._jsonable(stats), indent=2) + "\n")


def _model(depth: int, width: int, init: str):
    def build(cfg, info):
        c, h, w = info["in_channels"], *info["input_size"]
        return deep_mlp(c * h * w, info["num_classes"], depth, width, "relu", init)

    return build


def plan(ctx) -> list[SubRun]:
    k = ctx.knobs
    subs = []
    for init in INITS:
        for seed in ctx.seeds:
            settings = base_settings(
                ctx,
                seed,
                model=f"deep_mlp{k['depth']}-{init}",
                epochs=k["epochs"],
                batch_size=k["batch_size"],
                limit=k["limit"],
                test_limit=k["test_limit"],
                lr=k["lr"],
                momentum=0.9,
                schedule="constant",
            )
            subs.append(
                SubRun(
                    name=f"{init}-seed{seed}",
                    group=init,
                    seed=seed,
                    settings=settings,
                    build_model=_model(k["depth"], k["width"], init),
                    callbacks=lambda: [
                        LayerStats(),
                        EvalEvery(k["eval_every"], k["eval_images"], k["eval_images"]),
                    ],
                )
            )
    return subs


def _stats(rec) -> dict:
    return json.loads((Path(rec["dir"]) / "layer_stats.json").read_text())


def _num(v) -> float:
    return float(v) if not isinstance(v, str) else float(v)  # "inf"/"nan" from JSON


def _final_acc(rec) -> float:
    if rec["diverged"] is not None or rec["summary"] is None:
        return 0.0  # a diverged network predicts nothing
    return float(rec["summary"]["test_acc"])


def analyse(ctx, records: dict) -> dict:
    k = ctx.knobs
    by = {g: [r for r in records.values() if r["group"] == g] for g in INITS}
    seed0 = {g: _stats(by[g][0]) for g in INITS}  # the first seed's statistics
    ratios = {}
    for g in INITS:
        s = seed0[g]
        act = np.array([_num(v) for v in s["act_std"]])
        ratios[g] = act / s["input_std"]
    acc = {g: [_final_acc(r) for r in by[g]] for g in INITS}
    diverged = {g: sum(r["diverged"] is not None for r in by[g]) for g in INITS}
    he = ratios["he"]
    crit = [
        report.criterion(
            f"He keeps every layer's output std within a factor 2 of the input's (ratio "
            f"{he.min():.2f} to {he.max():.2f} over {len(he)} layers)",
            "holds" if he.min() >= 0.5 and he.max() <= 2.0 else "fails",
        ),
        report.criterion(
            f"N(0, 0.01^2) vanishes: last layer's std / input std = {ratios['small'][-1]:.2e}",
            "holds" if ratios["small"][-1] < 1e-2 else "fails",
        ),
        report.criterion(
            f"N(0, 1) explodes: last layer's std / input std = {ratios['large'][-1]:.2e}",
            "holds"
            if not math.isfinite(ratios["large"][-1]) or ratios["large"][-1] > 1e2
            else "fails",
        ),
        report.criterion(
            f"He trains: test accuracy {report.fmt(acc['he'])} against N(0, 0.01^2) "
            f"{report.fmt(acc['small'])} (chance 0.1), by more than 0.1 on every seed",
            report.compare(acc["he"], acc["small"], 0.1),
        ),
        report.criterion(
            f"N(0, 1) does not train: test accuracy {report.fmt(acc['large'])} "
            f"({diverged['large']} of {len(by['large'])} runs diverged) against He "
            f"{report.fmt(acc['he'])}",
            report.compare(acc["he"], acc["large"], 0.1),
        ),
    ]
    figures = [_plot_stats(ctx, seed0), _plot_training(ctx, records)]
    rows = []
    for g in INITS:
        s = seed0[g]
        grads = [_num(v) for v in s["grad_std"]]
        rows.append(
            [
                LABELS[g],
                float(ratios[g][0]),
                float(ratios[g][len(ratios[g]) // 2]),
                float(ratios[g][-1]),
                float(grads[0]),
                float(grads[-1]),
                report.fmt(acc[g]),
                f"{diverged[g]}/{len(by[g])}",
            ]
        )
    return {
        "setup": [
            f"network: {k['depth']} fully connected layers of {k['width']} ReLU units "
            f"(`builders.deep_mlp`), no batch norm, biases zero",
            f"per-layer statistics: one forward and backward pass of cross-entropy on the "
            f"first {STATS_IMAGES} training images (normalised: std {seed0['he']['input_std']:.3f})"
            f", seed {ctx.seeds[0]}",
            f"training: SGD (Nesterov momentum 0.9), constant lr {k['lr']}, batch "
            f"{k['batch_size']}, {k['epochs']} epoch(s) of {k['limit'] or ctx.n_train} images; "
            f"test accuracy on {k['test_limit'] or ctx.n_test} test images",
        ],
        "table": {
            "columns": [
                "init",
                "std ratio layer 1",
                f"layer {len(he) // 2 + 1}",
                f"layer {len(he)}",
                "grad std layer 1",
                f"grad std layer {len(he)}",
                "test acc",
                "diverged",
            ],
            "rows": rows,
        },
        "figures": figures,
        "criteria": crit,
        "numbers": {
            "act_std_ratio": {g: ratios[g].tolist() for g in INITS},
            "act_std": {g: seed0[g]["act_std"] for g in INITS},
            "grad_std": {g: seed0[g]["grad_std"] for g in INITS},
            "input_std": seed0["he"]["input_std"],
            "test_acc": acc,
            "diverged": diverged,
        },
        "spread_note": "Accuracies are the mean over seeds with the seeds' range in brackets; "
        "the statistics at initialisation are those of the first seed (they are "
        "deterministic for a seed).",
    }


def _plot_stats(ctx, seed0) -> dict:
    fig = report.figure(10, 4)
    axes = fig.subplots(1, 2)
    for g in INITS:
        s = seed0[g]
        act = np.array([_num(v) for v in s["act_std"]]) / s["input_std"]
        grad = np.array([_num(v) for v in s["grad_std"]])
        layers = np.arange(1, len(act) + 1)
        axes[0].semilogy(
            layers, np.where(np.isfinite(act), act, np.nan), "o-", ms=3, label=LABELS[g]
        )
        axes[1].semilogy(
            layers, np.where(np.isfinite(grad), grad, np.nan), "o-", ms=3, label=LABELS[g]
        )
    axes[0].set_title("output std / input std at initialisation")
    axes[1].set_title("std of dL/d(output) at initialisation")
    for ax in axes:
        ax.set_xlabel("layer")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    name = report.save(fig, ctx.out / "init_layer_std.png")
    return {"file": name, "caption": "Per-layer standard deviation at initialisation"}


def _plot_training(ctx, records) -> dict:
    fig = report.figure(6.4, 4)
    ax = fig.subplots()
    plot_groups(ax, records, list(INITS), "val_acc", labels=LABELS)
    ax.set_xlabel("step")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    name = report.save(fig, ctx.out / "init_training.png")
    return {"file": name, "caption": "Test accuracy during training, per initialisation"}


def check_data(data, shape, n_train) -> str | None:
    return None  # a fully connected network takes any image size


EXPERIMENT = register(
    Experiment(
        name="init",
        title="Initialisation: keep the variance of activations at one in every layer",
        claim="Initialise so that the variance of the activations is one at each layer; for "
        "ReLU, w ~ N(0, 2/k). (He et al. 2015.) He keeps the variance roughly constant with "
        "depth; a small initialisation vanishes and does not train; a large one explodes.",
        source="the lectures' initialisation slides; K. He, X. Zhang, S. Ren, J. Sun, "
        "'Delving Deep into Rectifiers', ICCV 2015, sec. 2.2 and fig. 3 (30-layer net)",
        budgets=deep_mlp_budgets(depth=30),
        seeds={"quick": 1, "standard": 2, "full": 3},
        plan=plan,
        analyse=analyse,
        check_data=check_data,
    )
)

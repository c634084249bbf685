"""``dropout``: on a training set small enough to overfit, dropout narrows the gap between
training and test accuracy.

A fully connected ReLU network with two hidden layers of 1024 units (``builders.deep_mlp``)
on the first few hundred or thousand training images, trained for many epochs: without
regularisation, with dropout 0.5 after each hidden layer, and with weight decay. Training
accuracy is measured in eval mode (dropout off) on the training images themselves.
"""

from __future__ import annotations

import numpy as np

from cnnlab.experiments import report
from cnnlab.experiments.builders import deep_mlp
from cnnlab.experiments.plots import plot_groups
from cnnlab.experiments.probes import EvalEvery
from cnnlab.experiments.registry import Experiment, register
from cnnlab.experiments.runner import SubRun, base_settings, eval_rows

GROUPS = ("none", "dropout", "weight-decay")


def _model(width: int, dropout: float):
    def build(cfg, info):
        c, h, w = info["in_channels"], *info["input_size"]
        return deep_mlp(c * h * w, info["num_classes"], 3, width, "relu", dropout=dropout)

    return build


def plan(ctx) -> list[SubRun]:
    k = ctx.knobs
    subs = []
    for group in GROUPS:
        for seed in ctx.seeds:
            settings = base_settings(
                ctx,
                seed,
                model=f"mlp{k['width']}-{group}",
                epochs=k["epochs"],
                batch_size=k["batch_size"],
                limit=k["images"],
                test_limit=k["test_images"],
                lr=k["lr"],
                momentum=0.9,
                weight_decay=k["weight_decay"] if group == "weight-decay" else 0.0,
                schedule="constant",
            )
            subs.append(
                SubRun(
                    name=f"{group}-seed{seed}",
                    group=group,
                    seed=seed,
                    settings=settings,
                    build_model=_model(k["width"], k["dropout"] if group == "dropout" else 0.0),
                    callbacks=lambda: [EvalEvery(k["eval_every"], k["images"], k["test_images"])],
                )
            )
    return subs


def _final(rec) -> tuple[float, float]:
    """(training accuracy, test accuracy) of the last evaluation."""
    rows = eval_rows(rec)
    return float(rows[-1]["acc"]), float(rows[-1]["val_acc"])


def analyse(ctx, records: dict) -> dict:
    k = ctx.knobs
    by = {g: [r for r in records.values() if r["group"] == g] for g in GROUPS}
    train = {g: [_final(r)[0] for r in by[g]] for g in GROUPS}
    test = {g: [_final(r)[1] for r in by[g]] for g in GROUPS}
    gap = {g: [a - b for a, b in zip(train[g], test[g])] for g in GROUPS}
    f = report.fmt
    crit = [
        report.criterion(
            f"without regularisation the network overfits: training accuracy "
            f"{f(train['none'])}, test {f(test['none'])}, gap {f(gap['none'])} (> 0.05)",
            "holds" if min(gap["none"]) > 0.05 else "unclear",
        ),
        report.criterion(
            f"dropout narrows the train/test gap: {f(gap['dropout'])} against "
            f"{f(gap['none'])} without, on every seed",
            report.compare(gap["none"], gap["dropout"], 0.0),
        ),
        report.criterion(
            f"dropout does not cost test accuracy: {f(test['dropout'])} against "
            f"{f(test['none'])} without (within 0.01)",
            "fails"
            if max(test["dropout"]) < min(test["none"]) - 0.01
            else (
                "holds" if np.mean(test["dropout"]) >= np.mean(test["none"]) - 0.01 else "unclear"
            ),
        ),
    ]
    rows = [[g, f(train[g]), f(test[g]), f(gap[g]), len(by[g])] for g in GROUPS]
    return {
        "setup": [
            f"network: fully connected ReLU, 2 hidden layers of {k['width']} units "
            f"(`builders.deep_mlp`); `dropout`: p = {k['dropout']} after each hidden layer; "
            f"`weight-decay`: {k['weight_decay']} on the weights",
            f"training set: the first {k['images']} training images; {k['epochs']} epochs, "
            f"batch {k['batch_size']}, SGD (Nesterov momentum 0.9), constant lr {k['lr']}",
            f"every {k['eval_every']} steps: accuracy in eval mode on all {k['images']} "
            f"training images and on the first {k['test_images']} test images",
        ],
        "table": {
            "columns": ["regulariser", "train acc", "test acc", "gap", "seeds"],
            "rows": rows,
        },
        "figures": [_plot(ctx, records)],
        "criteria": crit,
        "numbers": {"train_acc": train, "test_acc": test, "gap": gap},
        "spread_note": "Each number is the mean over seeds with the seeds' range in brackets, "
        "from the last evaluation of each run.",
    }


def _plot(ctx, records) -> dict:
    fig = report.figure(7, 4.5)
    ax = fig.subplots()
    colors = {"none": "C0", "dropout": "C3", "weight-decay": "C2"}
    plot_groups(ax, records, list(GROUPS), "acc", style="--", label_suffix=" train", colors=colors)
    plot_groups(
        ax, records, list(GROUPS), "val_acc", style="-", label_suffix=" test", colors=colors
    )
    ax.set_xlabel("step")
    ax.set_ylabel("accuracy")
    ax.set_title("train (dashed) and test (solid) accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    name = report.save(fig, ctx.out / "dropout.png")
    return {
        "file": name,
        "caption": "Dropout on a small training set: training (dashed) and test (solid) accuracy",
    }


def check_data(data, shape, n_train) -> str | None:
    if n_train < 500:
        return f"it needs at least 500 training images to overfit a subset, this has {n_train}"
    return None


EXPERIMENT = register(
    Experiment(
        name="dropout",
        title="Dropout: a smaller gap between training and test accuracy",
        claim="Dropout prevents overfitting: randomly dropping units during training stops "
        "them co-adapting, which narrows the gap between training and test accuracy.",
        source="the lectures' regularisation slides; N. Srivastava, G. Hinton et al., "
        "'Dropout: A Simple Way to Prevent Neural Networks from Overfitting', JMLR 2014",
        budgets={
            "quick": dict(
                images=500,
                epochs=15,
                batch_size=50,
                width=512,
                dropout=0.5,
                weight_decay=5e-3,
                lr=0.01,
                eval_every=10,
                test_images=1000,
            ),
            "standard": dict(
                images=1000,
                epochs=40,
                batch_size=50,
                width=1024,
                dropout=0.5,
                weight_decay=5e-3,
                lr=0.01,
                eval_every=40,
                test_images=1000,
            ),
            "full": dict(
                images=5000,
                epochs=200,
                batch_size=100,
                width=1024,
                dropout=0.5,
                weight_decay=5e-3,
                lr=0.01,
                eval_every=250,
                test_images=10000,
            ),
        },
        seeds={"quick": 1, "standard": 2, "full": 3},
        plan=plan,
        analyse=analyse,
        check_data=check_data,
    )
)

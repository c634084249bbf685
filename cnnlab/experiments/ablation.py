"""``ablation``: remove layers from an AlexNet-style network and see what each costs.

The zoo's ``alexnet_small`` and four variants from ``builders.ablated_alexnet`` (the deck's
slides: drop fc7; drop fc6 and fc7; drop conv3 and conv4; drop conv3, conv4, fc6 and fc7),
trained alike: parameters removed against accuracy lost.
"""

from __future__ import annotations

import numpy as np

from cnnlab.experiments import report
from cnnlab.experiments.builders import ABLATIONS, ablated_alexnet
from cnnlab.experiments.registry import Experiment, register
from cnnlab.experiments.runner import SubRun, base_settings

VARIANTS = tuple(ABLATIONS)


def _model(drop: tuple):
    def build(cfg, info):
        return ablated_alexnet(drop, info["num_classes"], info["in_channels"])

    return build


def _params(drop: tuple, c: int, classes: int) -> int:
    return ablated_alexnet(drop, classes, c).num_parameters()


def plan(ctx) -> list[SubRun]:
    k = ctx.knobs
    return [
        SubRun(
            name=f"{v}-seed{seed}",
            group=v,
            seed=seed,
            settings=base_settings(
                ctx,
                seed,
                model=f"alexnet_small-{v}",
                epochs=k["epochs"],
                batch_size=k["batch_size"],
                limit=k["images"],
                test_limit=k["test_images"],
                optimizer="adam",
                lr=k["lr"],
                warmup_epochs=0.1,
            ),
            build_model=_model(ABLATIONS[v]),
        )
        for v in VARIANTS
        for seed in ctx.seeds
    ]


def analyse(ctx, records: dict) -> dict:
    k = ctx.knobs
    c, classes = ctx.shape[0], ctx.num_classes
    by = {v: [r for r in records.values() if r["group"] == v] for v in VARIANTS}
    acc = {v: [r["summary"]["test_acc"] if r["summary"] else 0.0 for r in by[v]] for v in VARIANTS}
    params = {v: _params(ABLATIONS[v], c, classes) for v in VARIANTS}
    full_p = params["full"]
    full_acc = float(np.mean(acc["full"]))
    lost = {v: [full_acc - a for a in acc[v]] for v in VARIANTS}
    removed = {v: full_p - params[v] for v in VARIANTS}
    f = report.fmt
    fc_share = removed["no-fc6-fc7"] / full_p
    worst = "no-conv3-conv4-fc6-fc7"
    others = [x for v in VARIANTS if v not in ("full", worst) for x in lost[v]]
    fc_lost = float(np.mean(lost["no-fc6-fc7"]))
    crit = [
        report.criterion(
            f"the fully connected layers fc6 and fc7 hold most of the parameters: "
            f"{removed['no-fc6-fc7']:,} of {full_p:,} ({fc_share:.0%})",
            "holds" if fc_share > 0.5 else "fails",
        ),
        report.criterion(
            f"...but little accuracy: removing them costs {f(lost['no-fc6-fc7'])} "
            f"('little' = at most 0.02; 0.05 or more fails)",
            "holds" if fc_lost <= 0.02 else ("fails" if fc_lost >= 0.05 else "unclear"),
        ),
        report.criterion(
            f"removing conv3, conv4, fc6 and fc7 together costs the most: {f(lost[worst])} "
            "against "
            + ", ".join(f"{v} {f(lost[v])}" for v in VARIANTS if v not in ("full", worst)),
            report.compare(lost[worst], others, 0.0),
        ),
    ]
    rows = [
        [v, f"{params[v]:,}", f"{removed[v]:,}", f(acc[v]), f(lost[v]), len(by[v])]
        for v in VARIANTS
    ]
    return {
        "setup": [
            "network: the zoo's `alexnet_small` (conv 64-128-256-256-128, three max pools, fc "
            "1024-1024 with dropout 0.5, fc 10); variants from `builders.ablated_alexnet`, the "
            "layer after a removed one takes the width that now reaches it",
            f"training: {k['epochs']} epoch(s) of {k['images'] or ctx.n_train} images, batch "
            f"{k['batch_size']}, Adam lr {k['lr']} with warm-up and cosine decay; test "
            f"accuracy on {k['test_images'] or ctx.n_test} test images",
            "accuracy lost = the full network's mean test accuracy minus the variant's",
        ],
        "table": {
            "columns": ["variant", "parameters", "removed", "test acc", "accuracy lost", "seeds"],
            "rows": rows,
        },
        "figures": [_plot(ctx, params, removed, lost)],
        "criteria": crit,
        "numbers": {"params": params, "removed": removed, "test_acc": acc, "lost": lost},
        "spread_note": "Each number is the mean over seeds with the seeds' range in brackets.",
    }


def _plot(ctx, params, removed, lost) -> dict:
    fig = report.figure(10, 4)
    axes = fig.subplots(1, 2)
    names = [v for v in VARIANTS if v != "full"]
    y = np.arange(len(names))
    axes[0].barh(y, [removed[v] / params["full"] for v in names], color="C0")
    axes[0].set_title("fraction of parameters removed")
    axes[1].barh(
        y,
        [np.mean(lost[v]) for v in names],
        color="C3",
        xerr=[
            [np.mean(lost[v]) - np.min(lost[v]) for v in names],
            [np.max(lost[v]) - np.mean(lost[v]) for v in names],
        ],
    )
    axes[1].set_title("test accuracy lost")
    for ax in axes:
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.grid(alpha=0.3, axis="x")
    axes[1].set_yticklabels([])
    name = report.save(fig, ctx.out / "ablation.png")
    return {
        "file": name,
        "caption": "Layers removed from AlexNet: parameters removed against accuracy lost",
    }


def check_data(data, shape, n_train) -> str | None:
    c, h, w = shape
    if min(h, w) < 16:
        return f"AlexNet's three max pools need images of at least 16x16, these are {h}x{w}"
    return None


EXPERIMENT = register(
    Experiment(
        name="ablation",
        title="Layer ablation: the fully connected layers hold the parameters, depth holds "
        "the accuracy",
        claim="Removing the fully connected layers (most of the parameters) costs little "
        "accuracy; removing the middle convolutional layers as well makes the network much "
        "worse: depth is key.",
        source="the deck's AlexNet ablation slides (drop fc7; fc6 and fc7; conv3 and conv4; "
        "all four); M. Zeiler, R. Fergus, 'Visualizing and Understanding Convolutional "
        "Networks', ECCV 2014, sec. 5 and table 3",
        budgets={
            "quick": dict(images=768, epochs=1, batch_size=64, lr=1e-3, test_images=500),
            "standard": dict(images=6000, epochs=1, batch_size=64, lr=1e-3, test_images=5000),
            "full": dict(images=None, epochs=20, batch_size=128, lr=1e-3, test_images=None),
        },
        seeds={"quick": 1, "standard": 1, "full": 3},
        plan=plan,
        analyse=analyse,
        check_data=check_data,
    )
)

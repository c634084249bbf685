"""``activation``: sigmoid, tanh, ReLU and leaky ReLU in the same deep network.

A 20-layer fully connected network (``builders.deep_mlp``, the layers' default He
initialisation) with each activation; test accuracy against steps and the weight
gradients' norms per layer at the first and last step (``probes.GradNorms``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.experiments import report
from cnnlab.experiments.builders import deep_mlp, deep_mlp_budgets
from cnnlab.experiments.plots import plot_groups
from cnnlab.experiments.probes import EvalEvery, GradNorms, read_csv
from cnnlab.experiments.registry import Experiment, register
from cnnlab.experiments.runner import SubRun, base_settings, eval_rows

ACTS = ("sigmoid", "tanh", "relu", "leaky_relu")


def _model(depth: int, width: int, act: str):
    def build(cfg, info):
        c, h, w = info["in_channels"], *info["input_size"]
        return deep_mlp(c * h * w, info["num_classes"], depth, width, act)

    return build


def plan(ctx) -> list[SubRun]:
    k = ctx.knobs
    return [
        SubRun(
            name=f"{act}-seed{seed}",
            group=act,
            seed=seed,
            settings=base_settings(
                ctx,
                seed,
                model=f"deep_mlp{k['depth']}-{act}",
                epochs=k["epochs"],
                batch_size=k["batch_size"],
                limit=k["limit"],
                test_limit=k["test_limit"],
                lr=k["lr"],
                momentum=0.9,
                schedule="constant",
            ),
            build_model=_model(k["depth"], k["width"], act),
            callbacks=lambda: [
                EvalEvery(k["eval_every"], k["eval_images"], k["eval_images"]),
                GradNorms([1, -1]),  # -1: the last step
            ],
        )
        for act in ACTS
        for seed in ctx.seeds
    ]


def _grad_rows(rec) -> list[dict]:
    path = Path(rec["dir"]) / "grad_norms.csv"
    return read_csv(path) if path.exists() else []


def _layers(row: dict) -> np.ndarray:
    return np.array([v for k, v in row.items() if k.startswith("layer")], dtype=np.float64)


def _early_acc(rec, fraction: float = 0.2) -> float:
    rows = [r for r in eval_rows(rec) if r["step"] > 0]
    if not rows:
        return float("nan")
    return float(next(r["val_acc"] for r in rows if r["step"] >= fraction * rows[-1]["step"]))


def _stuck(acc, relu) -> str:
    """'holds' if ``acc`` is more than 0.05 below ReLU's on every seed, 'fails' if it is
    within 0.05 of ReLU's best seed or above on every seed, else 'unclear'."""
    if report.compare(relu, acc, 0.05) == "holds":
        return "holds"
    return "fails" if min(acc) > max(relu) - 0.05 else "unclear"


def _worst(*statuses: str) -> str:
    if "fails" in statuses:
        return "fails"
    return "holds" if all(s == "holds" for s in statuses) else "unclear"


def analyse(ctx, records: dict) -> dict:
    k = ctx.knobs
    by = {a: [r for r in records.values() if r["group"] == a] for a in ACTS}
    final = {a: [r["summary"]["test_acc"] if r["summary"] else 0.0 for r in by[a]] for a in ACTS}
    early = {a: [_early_acc(r) for r in by[a]] for a in ACTS}
    grads = {}  # first-step weight-gradient norms per layer, seed 0
    ratio = {}  # first layer / last layer, per seed
    for a in ACTS:
        rows = [_grad_rows(r) for r in by[a]]
        first = [_layers(rr[0]) for rr in rows if rr]
        grads[a] = {
            "first_step": first[0].tolist() if first else [],
            "last_step": _layers(rows[0][-1]).tolist() if rows and len(rows[0]) > 1 else [],
        }
        ratio[a] = [float(g[0] / g[-1]) if g[-1] > 0 else float("nan") for g in first]
    f = report.fmt
    diff = [lk - r for lk, r in zip(final["leaky_relu"], final["relu"])]
    leaky_status = (
        "holds"
        if abs(float(np.mean(diff))) <= 0.02
        else ("fails" if min(diff) > 0.02 else "unclear")
    )
    crit = [
        report.criterion(
            f"sigmoid gets stuck: final test accuracy {f(final['sigmoid'])} against ReLU "
            f"{f(final['relu'])} (stuck: more than 0.05 below on every seed; not stuck: "
            "within 0.05 or above on every seed)",
            _stuck(final["sigmoid"], final["relu"]),
        ),
        report.criterion(
            f"tanh gets stuck: final test accuracy {f(final['tanh'])} against ReLU "
            f"{f(final['relu'])} (the same test)",
            _stuck(final["tanh"], final["relu"]),
        ),
        report.criterion(
            f"ReLU trains faster: test accuracy at 20% of the steps {f(early['relu'])} against "
            f"sigmoid {f(early['sigmoid'])} and tanh {f(early['tanh'])}",
            _worst(
                report.compare(early["relu"], early["sigmoid"], 0.0),
                report.compare(early["relu"], early["tanh"], 0.0),
            ),
        ),
        report.criterion(
            f"leaky ReLU is not much better than ReLU: {f(final['leaky_relu'])} against "
            f"{f(final['relu'])} (mean difference {np.mean(diff):+.3f}; 'much' = 0.02)",
            leaky_status,
        ),
    ]
    rows = [[a, f(early[a]), f(final[a]), f(ratio[a], 3, sci=True), len(by[a])] for a in ACTS]
    return {
        "setup": [
            f"network: {k['depth']} fully connected layers of {k['width']} units "
            f"(`builders.deep_mlp`), the layers' default init (He, N(0, 2/k)), no batch norm",
            f"SGD (Nesterov momentum 0.9), constant lr {k['lr']}, batch {k['batch_size']}, "
            f"{k['epochs']} epoch(s) of {k['limit'] or ctx.n_train} images; final accuracy on "
            f"{k['test_limit'] or ctx.n_test} test images",
            "gradient norms: the L2 norm of each layer's weight gradient at the first step "
            "(the initial weights) and the last",
        ],
        "table": {
            "columns": [
                "activation",
                "test acc at 20% of steps",
                "final test acc",
                "grad norm layer 1 / last layer (step 1)",
                "seeds",
            ],
            "rows": rows,
        },
        "figures": [_plot(ctx, records, grads)],
        "criteria": crit,
        "numbers": {"final_acc": final, "early_acc": early, "grad_norms": grads, "ratio": ratio},
        "spread_note": "Each number is the mean over seeds with the seeds' range in brackets; "
        "gradient norms per layer are seed 0's.",
        "notes": [
            "Gradient norms at step 1, first layer / last layer: "
            + ", ".join(f"{a} {f(ratio[a], 3, sci=True)}" for a in ACTS)
            + ". The sigmoid's derivative is at most 1/4 and its outputs are not centred, so "
            "its gradient shrinks layer by layer; tanh (derivative 1 at 0, centred) under the "
            "variance-preserving He init stays in its near-linear range and passes gradients "
            "much as ReLU does: at this depth tanh is not stuck. The lecture's 'stuck' tanh "
            "needs a saturating initialisation (large weights) or far more depth."
        ],
    }


def _plot(ctx, records, grads) -> dict:
    fig = report.figure(11, 4)
    axes = fig.subplots(1, 2)
    plot_groups(axes[0], records, list(ACTS), "val_acc")
    axes[0].set_title("test accuracy")
    axes[0].set_xlabel("step")
    axes[0].set_ylim(0, 1)
    axes[0].legend()
    for i, a in enumerate(ACTS):
        g = np.array(grads[a]["first_step"])
        if g.size:
            axes[1].semilogy(np.arange(1, g.size + 1), g, "o-", ms=3, color=f"C{i}", label=a)
        g = np.array(grads[a]["last_step"])
        if g.size:
            axes[1].semilogy(np.arange(1, g.size + 1), g, ":", color=f"C{i}")
    axes[1].set_title("weight-gradient norm (solid: step 1, dotted: last)")
    axes[1].set_xlabel("layer (input to output)")
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    name = report.save(fig, ctx.out / "activation.png")
    return {
        "file": name,
        "caption": "Activations in a deep plain network: test accuracy "
        "and gradient norms per layer",
    }


EXPERIMENT = register(
    Experiment(
        name="activation",
        title="Activations: sigmoid and tanh get stuck when deep, ReLU trains",
        claim="Sigmoid and tanh saturate and kill gradients, so deep networks built from them "
        "get stuck; ReLU does not saturate and trains much faster; leaky ReLU fixes dying "
        "units but is in practice not much better than ReLU.",
        source="the recurrent/convolutional deck's notes on non-linearity (activation "
        "functions); cf. Glorot & Bengio 2010, Krizhevsky et al. 2012 (ReLU trains ~6x faster)",
        budgets=deep_mlp_budgets(depth=20),
        seeds={"quick": 1, "standard": 2, "full": 3},
        plan=plan,
        analyse=analyse,
    )
)

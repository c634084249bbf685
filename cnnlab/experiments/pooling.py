"""``pooling``: max pooling, average pooling, strided convolution and no downsampling in
the same small conv net, and how much accuracy each keeps on shifted test images.

``builders.pooling_cnn`` (two conv3x3-ReLU stages); after training, the test images
shifted by 1-4 pixels (right, left, down, up; the border filled with the background) are
classified again (``shifts.json`` in each sub-run).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import cnnlab
from cnnlab import backend
from cnnlab.autograd import no_grad
from cnnlab.data import transforms as T
from cnnlab.experiments import report
from cnnlab.experiments.builders import POOLINGS, pooling_cnn
from cnnlab.experiments.probes import first_images
from cnnlab.experiments.registry import Experiment, register
from cnnlab.experiments.runner import SubRun, base_settings
from cnnlab.train import recipes

SHIFTS = (0, 1, 2, 3, 4)
DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0))  # (dy, dx): right, left, down, up


def shift_images(x: np.ndarray, dy: int, dx: int, fill: np.ndarray) -> np.ndarray:
    """``x`` moved ``dy`` pixels down and ``dx`` right, the uncovered border set to ``fill``
    (one value per channel).

    Shape:
        - x: (N, C, H, W); fill: (C,); returns (N, C, H, W)
    """
    n, c, h, w = x.shape
    out = np.empty_like(x)
    out[...] = np.asarray(fill, x.dtype).reshape(1, c, 1, 1)
    src_y, dst_y = slice(max(0, -dy), h - max(0, dy)), slice(max(0, dy), h - max(0, -dy))
    src_x, dst_x = slice(max(0, -dx), w - max(0, dx)), slice(max(0, dx), w - max(0, -dx))
    out[:, :, dst_y, dst_x] = x[:, :, src_y, src_x]
    return out


def _accuracy(model, x, y, batch: int = 500) -> float:
    model.eval()
    correct = 0
    with no_grad():
        for i in range(0, len(x), batch):
            logits = backend.to_numpy(model(cnnlab.tensor(x[i : i + batch])).array)
            correct += int((logits.argmax(axis=1) == y[i : i + batch]).sum())
    return correct / len(x)


def _shift_test(ctx, images: int):
    def after(model, run_dir: Path) -> dict:
        train_ds, test_ds = recipes.load_datasets(ctx.data, ctx.root)
        mean, std = recipes.image_stats(ctx.data, train_ds)
        test_ds.transform = T.Compose([T.Normalize(mean, std)])
        x, y = first_images(test_ds, images)
        fill = -np.asarray(mean) / np.asarray(std)  # a black (0) pixel after normalising
        acc = {}
        for s in SHIFTS:
            dirs = DIRECTIONS if s else ((0, 0),)
            acc[str(s)] = float(
                np.mean(
                    [_accuracy(model, shift_images(x, dy * s, dx * s, fill), y) for dy, dx in dirs]
                )
            )
        result = {"images": len(x), "acc_by_shift": acc}
        (Path(run_dir) / "shifts.json").write_text(json.dumps(result, indent=2) + "\n")
        return result

    return after


def _model(pooling: str):
    def build(cfg, info):
        h, w = info["input_size"]
        return pooling_cnn(info["in_channels"], info["num_classes"], h, pooling, batch_norm=True)

    return build


def plan(ctx) -> list[SubRun]:
    k = ctx.knobs
    return [
        SubRun(
            name=f"{p}-seed{seed}",
            group=p,
            seed=seed,
            settings=base_settings(
                ctx,
                seed,
                model=f"pooling_cnn-{p}",
                epochs=k["epochs"],
                batch_size=k["batch_size"],
                limit=k["images"],
                test_limit=k["test_images"],
                lr=k["lr"],
                momentum=0.9,
                warmup_epochs=0.1,
            ),
            build_model=_model(p),
            after=_shift_test(ctx, k["shift_images"]),
        )
        for p in POOLINGS
        for seed in ctx.seeds
    ]


def analyse(ctx, records: dict) -> dict:
    k = ctx.knobs
    by = {p: [r for r in records.values() if r["group"] == p] for p in POOLINGS}
    acc = {
        p: {s: [r["extra"]["acc_by_shift"][str(s)] for r in by[p]] for s in SHIFTS}
        for p in POOLINGS
    }
    # accuracy kept under shifts of 1-4 pixels, relative to the unshifted images
    kept = {
        p: [
            float(np.mean([acc[p][s][i] for s in SHIFTS[1:]]) / acc[p][0][i])
            for i in range(len(by[p]))
        ]
        for p in POOLINGS
    }
    trained = all(min(acc[p][0]) >= 0.3 for p in POOLINGS)
    f = report.fmt
    others = [v for p in POOLINGS if p != "max" for v in kept[p]]
    crit = [
        report.criterion(
            "max pooling keeps the most accuracy on images shifted by 1-4 pixels: "
            + ", ".join(f"{p} {f(kept[p])}" for p in POOLINGS)
            + " (mean accuracy over the shifts / unshifted accuracy)",
            report.compare(kept["max"], others, 0.0) if trained else "unclear",
        ),
    ]
    if not trained:
        crit[0]["text"] += "; some networks did not learn (unshifted accuracy under 0.3), so "
        crit[0]["text"] += "their ratios mean nothing"
    rows = [[p, *(f(acc[p][s]) for s in SHIFTS), f(kept[p]), len(by[p])] for p in POOLINGS]
    return {
        "setup": [
            "network: conv3x3(32)-BN-ReLU-[down]-conv3x3(64)-BN-ReLU-[down]-linear "
            "(`builders.pooling_cnn`), [down] = 2x2 max pool, 2x2 average pool, stride 2 in "
            "the conv itself, or nothing (full resolution into the classifier)",
            f"training: {k['epochs']} epoch(s) of {k['images'] or ctx.n_train} images, batch "
            f"{k['batch_size']}, SGD (Nesterov momentum 0.9), lr {k['lr']} with warm-up and "
            "cosine decay, no augmentation (the shift tolerance must come from the network)",
            f"shift test: the first {k['shift_images']} test images moved 1-4 pixels right, "
            "left, down and up (accuracy averaged over the four), the border black",
        ],
        "table": {
            "columns": [
                "downsampling",
                *(f"acc shift {s}px" for s in SHIFTS),
                "kept under 1-4 px",
                "seeds",
            ],
            "rows": rows,
        },
        "figures": [_plot(ctx, acc)],
        "criteria": crit,
        "numbers": {
            "acc_by_shift": {p: {str(s): v for s, v in acc[p].items()} for p in POOLINGS},
            "kept": kept,
        },
        "spread_note": "Each number is the mean over seeds with the seeds' range in brackets.",
    }


def _plot(ctx, acc) -> dict:
    fig = report.figure(6.4, 4)
    ax = fig.subplots()
    for i, p in enumerate(POOLINGS):
        mean = [np.mean(acc[p][s]) for s in SHIFTS]
        ax.plot(SHIFTS, mean, "o-", color=f"C{i}", label=p)
        lo = [np.min(acc[p][s]) for s in SHIFTS]
        hi = [np.max(acc[p][s]) for s in SHIFTS]
        ax.fill_between(SHIFTS, lo, hi, color=f"C{i}", alpha=0.15, linewidth=0)
    ax.set_xlabel("shift (pixels)")
    ax.set_ylabel("test accuracy")
    ax.set_xticks(SHIFTS)
    ax.grid(alpha=0.3)
    ax.legend()
    name = report.save(fig, ctx.out / "pooling.png")
    return {"file": name, "caption": "Test accuracy on shifted images, per downsampling"}


def check_data(data, shape, n_train) -> str | None:
    c, h, w = shape
    if min(h, w) < 16:
        return (
            f"shifts of up to 4 pixels on {h}x{w} images move a quarter of the image out "
            "of the frame; it needs images of at least 16x16"
        )
    return None


EXPERIMENT = register(
    Experiment(
        name="pooling",
        title="Pooling: localised max pooling gives some shift invariance",
        claim="Localised max-pooling helps achieve some location invariance: max pooling "
        "tolerates small shifts of the input better than average pooling, strided "
        "convolution or no pooling at all.",
        source="the CS535 deck's pooling slides ('localised max-pooling helps achieve some "
        "location invariance'); cf. Scherer, Müller & Behnke 2010",
        budgets={
            "quick": dict(
                images=3000, epochs=1, batch_size=64, lr=0.05, test_images=1000, shift_images=500
            ),
            "standard": dict(
                images=12000, epochs=1, batch_size=64, lr=0.05, test_images=5000, shift_images=2000
            ),
            "full": dict(
                images=None, epochs=10, batch_size=128, lr=0.1, test_images=None, shift_images=10000
            ),
        },
        seeds={"quick": 1, "standard": 2, "full": 3},
        plan=plan,
        analyse=analyse,
        check_data=check_data,
    )
)

"""A cnnlab network trained on one data set as the source of features for another: the
``transfer`` experiment's second source (``fashion_cnn`` trained on MNIST digits, probed on
Fashion-MNIST) and its reverse (trained on Fashion-MNIST, probed on the digits).

The source sub-run trains the network, then stores its features (the classifier's input)
of the target's training and test images in its folder (``features.npz``); the probe
sub-runs read them from there.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cnnlab.experiments.transfer_work import _normalised, arrays, classes, probe, subset


def source_job(ctx, source: str, target: str):
    """Train ``scratch_model`` on ``source``'s training images (``source_epochs``), then
    save its features of ``target``'s training and test images (normalised as the source's
    images were)."""

    def work(run_dir: Path) -> dict:
        import cnnlab
        from cnnlab import models
        from cnnlab.transfer import extract
        from cnnlab.transfer.finetune import accuracy, fit

        k = ctx.knobs
        s = arrays(ctx, source)
        (x, y), (xt, yt) = s["train"], s["test"]
        cnnlab.manual_seed(0)
        model = models.create(
            k["scratch_model"], num_classes=classes(ctx, source), in_channels=x.shape[1]
        )
        info = fit(
            model,
            _normalised(ctx, source, x),
            y,
            epochs=k["source_epochs"],
            batch_size=128,
            lr=0.05,
        )
        src_acc = accuracy(model, _normalised(ctx, source, xt), yt)
        out = {}
        for split in ("train", "test"):
            tx, ty = arrays(ctx, target)[split]
            feats, labels = extract(
                model, (_normalised(ctx, source, tx), ty), (None,), 512, progress=False
            )
            out[split] = {
                "head_input": feats[None],
                "labels": labels,
                "indices": np.arange(len(labels)),
            }
        np.savez(
            run_dir / "features.npz",
            **{f"{sp}_{kk}": v for sp, d in out.items() for kk, v in d.items()},
        )
        (run_dir / "source.json").write_text(
            json.dumps({"source": source, "target": target, "source_test_acc": src_acc})
        )
        return {
            "test_acc": None,
            "source": source,
            "target": target,
            "source_test_acc": src_acc,
            "source_images": len(y),
            **info,
        }

    return work


def source_features(ctx, split: str, folder: str = "source") -> dict:
    """The features a source sub-run (in ``ctx.out / folder``) saved for ``split``."""
    key = f"{folder}:{split}"
    if key not in ctx.extra:
        with np.load(ctx.out / folder / "features.npz") as z:
            ctx.extra[key] = {kk: z[f"{split}_{kk}"] for kk in ("head_input", "labels", "indices")}
    return ctx.extra[key]


def source_probe_job(ctx, n, seed: int, folder: str = "source", target: str | None = None):
    """A linear probe on ``n`` labelled images per class of ``target`` (default the
    experiment's data), on the features the source sub-run in ``folder`` saved."""

    def work(run_dir: Path) -> dict:
        tr, te = source_features(ctx, "train", folder), source_features(ctx, "test", folder)
        rows = subset(ctx, n, seed, target)
        f, y = tr["head_input"][rows], tr["labels"][rows]
        return probe(ctx, f, y, te, classes(ctx, target), seed)

    return work

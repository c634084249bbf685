"""The work behind ``cnnlab train --task segment`` and ``cnnlab predict --task segment``.

Training reuses the classification pieces: the recipes build the scene loaders (images and
their masks), the model and the optimiser; :class:`SegmentationTrainer` runs the epochs (its
accuracy is the pixel accuracy, since ``logits.argmax(1)`` is a mask, and it keeps the
checkpoint of the best mean IoU, not of the best pixel accuracy, which a model predicting
mostly background already scores high). What differs is the loss (per-pixel cross-entropy,
soft Dice, or both) and the final score: the test split's per-class and mean IoU
(:mod:`cnnlab.train.segmentation_metrics`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from cnnlab import backend, nn
from cnnlab.autograd import no_grad
from cnnlab.train import recipes
from cnnlab.train.metrics import RunningAverage
from cnnlab.train.scene_task import finish_summary, scene_config
from cnnlab.train.segmentation_metrics import SegmentationMeter
from cnnlab.train.task_trainer import build_task_trainer
from cnnlab.train.trainer import Trainer

__all__ = [
    "LOSSES",
    "SEGMENT_DEFAULTS",
    "SegmentationLoss",
    "SegmentationTrainer",
    "evaluate_segment_checkpoint",
    "evaluate_segmentation",
    "format_segment_report",
    "predict_segmentation",
    "train_segmentation",
]

# The segmentation recipe, over recipes.DEFAULTS and under the user's options. Adam: the
# per-pixel loss of a randomly initialised U-Net is badly scaled for one SGD rate; no label
# smoothing (it pulls the background's confident logits down for nothing); cross-entropy
# plus Dice: background is 87% of the pixels, and Dice weighs every class alike (mean IoU
# after 2 epochs 0.640 against 0.603 with cross-entropy alone; docs/guides/segmentation.md).
SEGMENT_DEFAULTS = {
    "model": "unet_small",
    "data": "fashion-scenes",
    "epochs": 6,
    "batch_size": 32,
    "optimizer": "adam",
    "lr": 5e-3,
    "weight_decay": 0.0,
    "label_smoothing": 0.0,
    "warmup_epochs": 0.2,
    "loss": "ce+dice",
}
LOSSES = ("ce", "dice", "ce+dice")


class SegmentationLoss(nn.Module):
    """``'ce'``: per-pixel cross-entropy; ``'dice'``: soft Dice (:func:`F.dice_loss`);
    ``'ce+dice'``: their sum (Dice lifts small objects that cross-entropy, dominated by the
    background pixels, learns late).

    Shape: input (N, C, H, W) logits; target (N, H, W) class indices -> scalar.
    """

    def __init__(self, kind: str = "ce", label_smoothing: float = 0.0) -> None:
        super().__init__()
        if kind not in LOSSES:
            raise ValueError(f"SegmentationLoss: --loss must be one of {LOSSES}, got {kind!r}")
        self.kind = kind
        self.ce = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        self.dice = nn.DiceLoss()

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}"

    def forward(self, input, target):
        if self.kind == "ce":
            return self.ce(input, target)
        if self.kind == "dice":
            return self.dice(input, target)
        return self.ce(input, target) + self.dice(input, target)


def evaluate_segmentation(
    model, loader, num_classes: int, progress: bool = False, loss_fn=None
) -> dict:
    """Pixel accuracy, per-class IoU and mean IoU of ``model`` over ``loader``, in eval mode
    without a graph (the training flag is restored). Returns ``{'pixel_acc', 'miou', 'iou',
    'confusion_matrix', 'n'}``, and the mean ``'loss'`` with ``loss_fn``."""
    meter, loss_avg = SegmentationMeter(num_classes), RunningAverage()
    was_training, n = model.training, 0
    model.eval()
    try:
        with no_grad():
            bar = tqdm(loader, desc="IoU", disable=not progress, leave=False, file=sys.stderr)
            for x, y in bar:
                logits = model(x)
                if loss_fn is not None:
                    loss_avg.update(float(loss_fn(logits, y).item()), len(y))
                meter.update(backend.to_numpy(logits.array), backend.to_numpy(y.array))
                n += len(y)
    finally:
        model.train(was_training)
    extra = {"loss": loss_avg.avg} if loss_fn is not None else {}
    return {
        **extra,
        "pixel_acc": meter.pixel_acc,
        "miou": meter.miou,
        "iou": meter.iou.tolist(),
        "confusion_matrix": meter.cm.tolist(),
        "n": n,
    }


class SegmentationTrainer(Trainer):
    """A :class:`~cnnlab.train.trainer.Trainer` whose per-epoch evaluation also scores the
    mean IoU and keeps ``best.safetensors`` by it (``monitor = 'miou'``; the log gains a
    ``val_miou`` column). Needs ``config['num_classes']``."""

    monitor = "miou"

    def evaluate(self, loader, return_outputs: bool = False, desc: str = "eval") -> dict:
        """``{'loss', 'acc' (per pixel), 'miou', 'n'}`` over ``loader``."""
        if return_outputs:
            raise ValueError("SegmentationTrainer.evaluate: return_outputs is not supported")
        num_classes = int(self.config["num_classes"])
        s = evaluate_segmentation(self.model, loader, num_classes, self.progress, self.loss_fn)
        return {"loss": s["loss"], "acc": s["pixel_acc"], "miou": s["miou"], "n": s["n"]}


def evaluate_segment_checkpoint(
    model,
    config: dict,
    data=None,
    batch_size: int = 256,
    limit=None,
    progress=False,
    root=None,
    out_dir=None,
) -> dict:
    """``cnnlab eval`` of a segmentation checkpoint (``model`` and its ``config``): pixel
    accuracy, per-class and mean IoU on the test split of ``data`` (default: its own); with
    ``out_dir``, also ``segment_examples_<data>.png`` there (the first test scenes' true and
    predicted masks, :func:`~cnnlab.train.segment_figures.plot_segment_examples`)."""
    from cnnlab import data as cdata
    from cnnlab.data import transforms as T

    data = data or config.get("data")
    if data not in recipes.SCENE_NAMES:
        names = ", ".join(recipes.SCENE_NAMES)
        raise ValueError(f"eval of a segmenter: --data must be one of {names}, got {data!r}")
    _, test_ds = recipes.load_datasets(data, root)
    test_ds.transform = T.Compose([T.Normalize(config["mean"], config["std"])])
    if limit:
        test_ds = cdata.Subset(test_ds, np.arange(min(int(limit), len(test_ds))))
    loader = cdata.DataLoader(test_ds, batch_size, shuffle=False, seed=0)
    scores = evaluate_segmentation(model, loader, int(config["num_classes"]), progress)
    classes = [str(c) for c in config.get("classes") or range(config["num_classes"])]
    result = {"task": "segment", "data": data, "classes": classes, **scores}
    if out_dir is not None:
        from cnnlab.train.segment_figures import plot_segment_examples

        png = Path(out_dir) / f"segment_examples_{data}.png"
        result["examples_png"] = str(plot_segment_examples(model, test_ds, classes, png))
    return result


def format_segment_report(result: dict) -> str:
    """A mean-IoU line and a per-class IoU table."""
    width = max(5, *(len(c) for c in result["classes"]))
    lines = [
        f"mean IoU {result['miou']:.4f}, pixel accuracy {result['pixel_acc']:.4f} on "
        f"{result['n']} scenes of {result['data']}",
        f"{'class':<{width}}  {'IoU':>6}",
    ]
    lines += [f"{c:<{width}}  {iou:>6.4f}" for c, iou in zip(result["classes"], result["iou"])]
    if result.get("examples_png"):
        lines.append(f"test scenes, true and predicted masks: {result['examples_png']}")
    return "\n".join(lines)


def _config(settings: dict, resume):
    cfg, resumed_dir = scene_config(
        "segment", SEGMENT_DEFAULTS, settings, resume, ("distributed", "pretrained")
    )
    if resumed_dir is None and cfg["loss"] not in LOSSES:
        raise ValueError(f"--task segment: --loss must be one of {LOSSES}, got {cfg['loss']!r}")
    return cfg, resumed_dir


def train_segmentation(
    settings: dict | None = None,
    out_dir=None,
    resume=None,
    progress: bool = True,
    root=None,
    *,
    callbacks: list | None = None,
    overwrite: bool = False,
) -> dict:
    """Train a segmenter on a scene data set with :data:`SEGMENT_DEFAULTS` updated by
    ``settings`` (None values ignored); then score the test split.

    Writes what ``cnnlab train`` writes (``metrics.csv``, ``curves.png``, checkpoints) and
    ``summary.json`` with ``test_miou``, ``test_iou`` (per mask class), ``test_pixel_acc``.
    Returns that summary. A folder holding another run is refused unless ``overwrite``
    (:func:`cnnlab.train.run.check_run_dir`), as for classification.
    """
    from cnnlab import models
    from cnnlab.train.run import check_run_dir, default_run_dir

    settings = {k: v for k, v in (settings or {}).items() if v is not None}
    cfg, resumed_dir = _config(settings, resume)
    out_dir = Path(out_dir) if out_dir is not None else resumed_dir or default_run_dir()
    models.info(cfg["model"])  # unknown names fail before any data is loaded
    check_run_dir(out_dir, resume, overwrite)
    backend.manual_seed(int(cfg["seed"]))
    train_loader, val_loader, test_loader, info = recipes.build_split_loaders(cfg, root)
    cfg.update(info)
    model = recipes.build_model(cfg, info)
    loss_fn = SegmentationLoss(cfg["loss"], float(cfg.get("label_smoothing") or 0.0))
    trainer = build_task_trainer(
        SegmentationTrainer,
        model,
        loss_fn,
        cfg,
        train_loader,
        val_loader if val_loader is not None else test_loader,
        out_dir,
        val_name="val" if val_loader is not None else "test",
        progress=progress,
        resume=resume,
        callbacks=callbacks,
    )
    start = time.perf_counter()
    history = trainer.fit()
    scores = evaluate_segmentation(model, test_loader, info["num_classes"], progress)
    summary = {
        "task": "segment",
        "model": cfg["model"],
        "data": cfg["data"],
        "loss": cfg["loss"],
        "epochs": trainer.epoch,
        "train_images": len(train_loader.dataset),
        "test_images": len(test_loader.dataset),
        "test_miou": scores["miou"],
        "test_pixel_acc": scores["pixel_acc"],
        "test_iou": dict(zip(info["classes"], scores["iou"])),
        "best_miou": trainer.best_score,  # of best.safetensors, on the per-epoch split
    }
    return finish_summary(summary, history, start, out_dir)


def predict_segmentation(checkpoint, images: list, out_dir=None, invert: bool = False) -> list:
    """Segment image files with a checkpoint; write ``<stem>_segment.png`` (the image with the
    predicted mask in colour) for each into ``out_dir`` (default: next to the image).

    Returns one ``{'image', 'overlay', 'classes': {name: fraction of pixels}}`` per image
    (background left out).
    """
    from cnnlab.data.datasets.scenes import scene_picture
    from cnnlab.images import load_image
    from cnnlab.models.loading import open_model

    info = open_model(checkpoint)
    c, *size = info.shape
    batch = np.stack([load_image(p, tuple(size), channels=c) for p in images])
    batch = 1.0 - batch if invert else batch
    probs = info.predict_probs(batch)
    if probs.ndim != 4:
        raise ValueError(
            f"predict --task segment: {checkpoint} is not a segmenter: its output has shape "
            f"{probs.shape}, expected (N, classes, H, W)"
        )
    masks = probs.argmax(axis=1)
    out = []
    for path, img, mask in zip(images, batch, masks):
        folder = Path(out_dir) if out_dir is not None else Path(path).parent
        png = folder / f"{Path(path).stem}_segment.png"
        scene_picture(img.mean(axis=0), mask, title=Path(path).name).save(png)
        counts = np.bincount(mask.reshape(-1), minlength=probs.shape[1]) / mask.size
        found = {info.label(k): round(float(f), 4) for k, f in enumerate(counts) if k and f > 0}
        out.append({"image": str(path), "overlay": str(png), "classes": found})
    return out

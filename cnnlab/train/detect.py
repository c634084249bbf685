"""The work behind ``cnnlab train --task detect`` and ``cnnlab eval`` of a detector.

Training reuses the classification pieces (the :class:`~cnnlab.train.trainer.Trainer`, its
checkpoints, resume, curves; the recipes' model, optimiser and schedule). What differs:
the batches are images and CenterNet's target maps
(:class:`~cnnlab.train.detection_targets.DetectionScenes`), the loss is
:class:`DetectionLoss`, the training "accuracy" is the share of object centres whose
heat-map class is right, and the per-epoch score (``val_acc`` in the logs, and what picks
``best.safetensors``) is mAP@0.5 on the held-out scenes
(:mod:`cnnlab.train.detection_metrics`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

import cnnlab
from cnnlab import backend, nn
from cnnlab.autograd import no_grad
from cnnlab.train import recipes
from cnnlab.train.detection_metrics import DetectionMeter
from cnnlab.train.scene_task import finish_summary, scene_config
from cnnlab.train.task_trainer import build_task_trainer
from cnnlab.train.trainer import Trainer

__all__ = [
    "DETECT_DEFAULTS",
    "DetectionLoss",
    "DetectionTrainer",
    "evaluate_detect_checkpoint",
    "evaluate_detection",
    "flip_test_output",
    "format_detect_report",
    "train_detection",
]

# The detection recipe, over recipes.DEFAULTS and under the user's options: Adam (the three
# heads' losses differ in scale), no label smoothing or weight decay, a short warm-up;
# 30,000 scenes seen 4 times (3,752 steps): 10,000 scenes seen 12 times overfit (test mAP@0.5
# 0.839 against 0.851, docs/guides/detection.md).
DETECT_DEFAULTS = {
    "model": "centernet_small",
    "data": "fashion-scenes",
    "scenes": 30000,
    "epochs": 4,
    "batch_size": 32,
    "optimizer": "adam",
    "lr": 2e-3,
    "weight_decay": 0.0,
    "label_smoothing": 0.0,
    "warmup_epochs": 0.3,
}


class DetectionLoss(nn.Module):
    """CenterNet's loss: the focal loss on the heat maps (:func:`F.gaussian_focal_loss`)
    plus ``size_weight`` times the L1 error of the sizes and ``offset_weight`` times that of
    the offsets, both summed over the object cells and divided by their number (the
    paper's weights: 0.1 and 1).

    Shape: input (N, C + 4, h, w) from the model; target (N, C + 5, h, w) from
    :func:`~cnnlab.train.detection_targets.encode_centernet` -> scalar.
    """

    def __init__(self, size_weight: float = 0.1, offset_weight: float = 1.0) -> None:
        super().__init__()
        self.size_weight, self.offset_weight = float(size_weight), float(offset_weight)

    def extra_repr(self) -> str:
        return f"size_weight={self.size_weight}, offset_weight={self.offset_weight}"

    def forward(self, input, target):
        import cnnlab.nn.functional as F

        t = getattr(target, "array", target)
        c = input.shape[1] - 4
        if t.ndim != 4 or t.shape[1] != c + 5 or t.shape[2:] != tuple(input.shape[2:]):
            raise ValueError(
                f"DetectionLoss: target must be (N, {c + 5}, {input.shape[2]}, {input.shape[3]}) "
                f"for output {tuple(input.shape)}, got {tuple(t.shape)}"
            )
        mask = cnnlab.tensor(np.ascontiguousarray(t[:, c + 4 : c + 5]))
        count = max(float(t[:, c + 4].sum()), 1.0)
        heat = F.gaussian_focal_loss(input[:, :c], t[:, :c])
        size = F.l1_loss(input[:, c : c + 2] * mask, t[:, c : c + 2], reduction="sum")
        offset = F.l1_loss(input[:, c + 2 : c + 4] * mask, t[:, c + 2 : c + 4], reduction="sum")
        return heat + (self.size_weight * size + self.offset_weight * offset) / count


def _ground_truth(ds, i: int):
    """``(boxes, labels)`` of item ``i`` of a DetectionScenes or a Subset of one."""
    if isinstance(ds, cnnlab.data.Subset):
        return _ground_truth(ds.dataset, int(ds.indices[i]))
    return ds.boxes(i)


def flip_test_output(model, x, out=None) -> np.ndarray:
    """The model's output on ``x`` averaged with that on its mirror image, CenterNet's
    flip test: the heat-map probabilities and the sizes of the two, the mirrored maps
    flipped back, are averaged cell by cell (and the heat maps returned as logits); the
    offsets are the unflipped image's (a mirrored offset belongs to a mirrored cell).

    Args:
        model: a CenterNet-like detector (output (N, classes + 4, h, w)).
        x: the batch of images, a Tensor (N, C, H, W).
        out: the model's output on ``x`` if already computed.

    Shape: (N, C, H, W) -> (N, classes + 4, H / s, W / s) float64 array.
    """
    plain = backend.to_numpy((model(x) if out is None else out).array).astype(np.float64)
    mirror_in = cnnlab.tensor(np.ascontiguousarray(backend.to_numpy(x.array)[..., ::-1]))
    mirror = backend.to_numpy(model(mirror_in).array).astype(np.float64)[..., ::-1]
    c = plain.shape[1] - 4
    p = (1 / (1 + np.exp(-plain[:, :c])) + 1 / (1 + np.exp(-mirror[:, :c]))) / 2
    p = np.clip(p, 1e-12, 1 - 1e-12)
    averaged = plain.copy()
    averaged[:, :c] = np.log(p / (1 - p))
    averaged[:, c : c + 2] = (plain[:, c : c + 2] + mirror[:, c : c + 2]) / 2
    return averaged


def evaluate_detection(
    model, loader, loss_fn=None, progress: bool = False, flip_test: bool = False
) -> dict:
    """mAP@0.5, COCO's mAP@[.5:.95] and per-class AP of ``model`` over ``loader`` (of a
    DetectionScenes, not shuffled), in eval mode without a graph; with ``loss_fn`` the mean
    loss too (of the plain output); with ``flip_test`` the boxes come from
    :func:`flip_test_output`. Returns ``{'loss', 'acc' (= map50), 'map50', 'map', 'map75',
    'ap50', 'ap', 'n'}``."""
    from cnnlab.models.detection import decode_centernet

    num_classes = loader.dataset.num_classes if hasattr(loader.dataset, "num_classes") else None
    if num_classes is None:
        num_classes = loader.dataset.dataset.num_classes
    meter = DetectionMeter(num_classes)
    was_training, n, loss_sum = model.training, 0, 0.0
    model.eval()
    try:
        with no_grad():
            bar = tqdm(loader, desc="mAP", disable=not progress, leave=False, file=sys.stderr)
            for x, y in bar:
                out = model(x)
                if loss_fn is not None:
                    loss_sum += float(loss_fn(out, y).item()) * len(y)
                if flip_test:
                    out = flip_test_output(model, x, out)
                for det in decode_centernet(out, stride=getattr(model, "stride", 4)):
                    boxes, labels = _ground_truth(loader.dataset, n)
                    meter.update(det["boxes"], det["scores"], det["labels"], boxes, labels)
                    n += 1
    finally:
        model.train(was_training)
    scores = meter.compute()
    loss = loss_sum / n if loss_fn is not None and n else float("nan")
    return {"loss": loss, "acc": scores["map50"], "n": n, **scores}


class DetectionTrainer(Trainer):
    """The :class:`Trainer` with a detector's accuracy and evaluation: the training
    accuracy is the share of object centres whose heat-map argmax is the right class; the
    evaluation's ``acc`` is mAP@0.5 (so ``best.safetensors`` is the best mAP@0.5)."""

    def batch_accuracy(self, logits, y) -> float:
        out, t = backend.to_numpy(logits.array), backend.to_numpy(y.array)
        c = out.shape[1] - 4
        centres = t[:, c + 4] > 0
        if not centres.any():
            return float("nan")
        right = out[:, :c].argmax(axis=1) == t[:, :c].argmax(axis=1)
        return float(right[centres].mean())

    def evaluate(self, loader, return_outputs: bool = False, desc: str = "eval") -> dict:
        return evaluate_detection(self.model, loader, self.loss_fn, self.progress)


def build_detection_loaders(cfg: dict, root=None):
    """``(train_loader, test_loader, info)`` of CenterNet targets on a scene data set;
    ``cfg['scenes']`` sets the number of training scenes (default: the data set's 10,000);
    ``cfg['limit']`` and ``cfg['test_limit']`` keep the first scenes of each split."""
    from cnnlab import data as cdata
    from cnnlab.data import transforms as T
    from cnnlab.train.detection_targets import DetectionScenes

    train_scenes, test_scenes = recipes.load_datasets(cfg["data"], root)
    if cfg.get("scenes"):  # more (or fewer) scenes than the default, generated once
        cls = type(train_scenes)
        train_scenes = cls(root, train=True, n=int(cfg["scenes"]), target_type="mask")
    mean, std = recipes.image_stats(cfg["data"], train_scenes)
    norm = T.Compose([T.Normalize(mean, std)])
    flip = 0.5 if cfg.get("augment") else 0.0  # mirrored scenes, boxes mirrored with them
    train_ds = DetectionScenes(train_scenes, transform=norm, hflip=flip)
    test_ds = DetectionScenes(test_scenes, transform=norm)
    if cfg.get("limit"):
        train_ds = cdata.Subset(train_ds, np.arange(min(int(cfg["limit"]), len(train_ds))))
    if cfg.get("test_limit"):
        test_ds = cdata.Subset(test_ds, np.arange(min(int(cfg["test_limit"]), len(test_ds))))
    workers = int(cfg.get("workers") or 1)
    train_loader = cdata.DataLoader(
        train_ds, cfg["batch_size"], shuffle=True, seed=cfg.get("seed", 0), num_workers=workers
    )
    test_loader = cdata.DataLoader(test_ds, 256, shuffle=False, seed=0, num_workers=workers)
    c, h, w = recipes.sample_shape(train_scenes)
    info = {
        "classes": list(train_scenes.classes),
        "num_classes": len(train_scenes.classes),
        "in_channels": c,
        "input_size": [h, w],
        "mean": list(mean),
        "std": list(std),
    }
    return train_loader, test_loader, info


def _config(settings: dict, resume):
    unsupported = ("distributed", "pretrained", "val_split", "loss")
    return scene_config("detect", DETECT_DEFAULTS, settings, resume, unsupported)


def train_detection(
    settings: dict | None = None,
    out_dir=None,
    resume=None,
    progress: bool = True,
    root=None,
    *,
    callbacks: list | None = None,
    overwrite: bool = False,
) -> dict:
    """Train a detector on a scene data set with :data:`DETECT_DEFAULTS` updated by
    ``settings`` (None values ignored); then score the test split.

    Writes what ``cnnlab train`` writes (``metrics.csv``, ``curves.png``, checkpoints, the
    best by mAP@0.5) and ``summary.json`` with ``task: 'detect'``, ``test_map50``,
    ``test_map`` (COCO's mAP@[.5:.95]) and per-class ``test_ap50``. Returns that summary.
    """
    from cnnlab import models
    from cnnlab.train.run import check_run_dir, default_run_dir

    settings = {k: v for k, v in (settings or {}).items() if v is not None}
    cfg, resumed_dir = _config(settings, resume)
    out_dir = Path(out_dir) if out_dir is not None else resumed_dir or default_run_dir()
    if models.info(cfg["model"])["task"] != "detect":
        raise ValueError(f"--task detect: --model {cfg['model']} is not a detector")
    check_run_dir(out_dir, resume, overwrite)
    backend.manual_seed(int(cfg["seed"]))
    train_loader, test_loader, info = build_detection_loaders(cfg, root)
    cfg.update(info)
    model = recipes.build_model(cfg, info)
    trainer = build_task_trainer(
        DetectionTrainer,
        model,
        DetectionLoss(),
        cfg,
        train_loader,
        test_loader,
        out_dir,
        progress=progress,
        resume=resume,
        callbacks=callbacks,
    )
    start = time.perf_counter()
    history = trainer.fit()
    scores = evaluate_detection(model, test_loader, progress=progress)
    summary = {
        "task": "detect",
        "model": cfg["model"],
        "data": cfg["data"],
        "epochs": trainer.epoch,
        "steps": trainer.step,
        "train_images": len(train_loader.dataset),
        "test_images": len(test_loader.dataset),
        "test_map50": scores["map50"],
        "test_map": scores["map"],
        "test_map75": scores["map75"],
        "test_ap50": dict(zip(info["classes"], scores["ap50"])),
        "test_ap": dict(zip(info["classes"], scores["ap"])),
        "best_test_map50": trainer.best_acc if np.isfinite(trainer.best_acc) else None,
    }
    return finish_summary(summary, history, start, out_dir)


def evaluate_detect_checkpoint(
    model, config: dict, data=None, batch_size: int = 256, limit=None, progress=False, root=None
) -> dict:
    """``cnnlab eval`` of a detector checkpoint (``model`` and its ``config``): mAP@0.5,
    mAP@[.5:.95] and per-class AP on the test split of ``data`` (default: its own)."""
    from cnnlab import data as cdata

    data = data or config.get("data")
    if data not in recipes.SCENE_NAMES:
        names = ", ".join(recipes.SCENE_NAMES)
        raise ValueError(f"eval of a detector: --data must be one of {names}, got {data!r}")
    cfg = {**config, "data": data, "batch_size": batch_size, "test_limit": limit}
    _, loader, _ = build_detection_loaders(cfg, root)
    loader = cdata.DataLoader(loader.dataset, batch_size, shuffle=False, seed=0)
    scores = evaluate_detection(model, loader, progress=progress)
    classes = [str(c) for c in config.get("classes") or range(config["num_classes"])]
    return {"task": "detect", "data": data, "classes": classes, **scores}


def format_detect_report(result: dict) -> str:
    """An mAP line and a per-class AP table."""
    width = max(5, *(len(c) for c in result["classes"]))
    lines = [
        f"mAP@0.5 {result['map50']:.4f}, mAP@[.5:.95] {result['map']:.4f} on {result['n']} "
        f"scenes of {result['data']}",
        f"{'class':<{width}}  {'AP@0.5':>6}  {'AP@[.5:.95]':>11}",
    ]
    for c, ap50, ap in zip(result["classes"], result["ap50"], result["ap"]):
        lines.append(f"{c:<{width}}  {ap50:>6.4f}  {ap:>11.4f}")
    return "\n".join(lines)

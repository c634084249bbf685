"""The work behind ``cnnlab train``, ``cnnlab eval`` and ``cnnlab predict``.

Each function takes plain values (the CLI only parses) and returns a result dict.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from cnnlab import backend
from cnnlab.train import recipes
from cnnlab.train.checkpoint import (
    CheckpointError,
    check_config,
    load_checkpoint,
    model_from_checkpoint,
)
from cnnlab.train.evaluation import evaluate
from cnnlab.train.metrics import confusion_matrix, per_class_accuracy
from cnnlab.train.task_trainer import build_task_trainer
from cnnlab.train.trainer import Trainer

__all__ = [
    "check_run_dir",
    "evaluate_checkpoint",
    "format_eval_report",
    "predict_images",
    "train",
]


def default_run_dir(base="runs") -> Path:
    """``runs/<YYYYmmdd-HHMMSS>``, with a suffix if that already exists."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, i = Path(base) / stamp, 1
    while path.exists():
        path, i = Path(base) / f"{stamp}-{i}", i + 1
    return path


def distributed_run(cfg: dict, resume):
    """The run's :class:`cnnlab.distributed.training.DistributedRun`, or None."""
    from cnnlab.distributed.training import from_config

    return from_config(cfg, resume, recipes.DEFAULT_LR)


RUN_FILES = ("last.safetensors", "best.safetensors", "metrics.csv", "metrics.jsonl",
             "summary.json", "curves.png", "metrics.png", "progress.gif", "fid.png")  # fmt: skip


def check_run_dir(out_dir, resume=None, overwrite: bool = False) -> None:
    """Refuse to start a run in a folder that already holds one (its checkpoints and metrics
    would be overwritten and appended to) unless it is the run being resumed, or
    ``overwrite`` says to start afresh: then the old run's files are deleted first."""
    out_dir = Path(out_dir)
    found = [n for n in RUN_FILES if (out_dir / n).exists()]
    if not found:
        return
    if resume is not None:
        ckpt = Path(resume)
        if (ckpt if ckpt.is_dir() else ckpt.parent).resolve() == out_dir.resolve():
            return
    if not overwrite:
        raise FileExistsError(
            f"{out_dir} already holds a run ({', '.join(found)}): continue it with "
            f"--resume {out_dir}, choose another --out, or start afresh with --overwrite"
        )
    for n in found:
        (out_dir / n).unlink()


def train(
    settings: dict | None = None,
    out_dir=None,
    resume=None,
    progress: bool = True,
    root=None,
    *,
    overwrite: bool = False,
    build_model=None,
    callbacks: list | None = None,
) -> dict:
    """Train with ``recipes.defaults_for(model)`` updated by ``settings`` (None values ignored).

    ``resume``: a run directory or checkpoint; the run continues with its saved config (and
    into its directory) to its planned number of epochs. Writes ``metrics.csv``,
    ``curves.png``, ``last/best.safetensors`` and ``summary.json`` to ``out_dir``; a folder
    that already holds another run is refused unless ``overwrite`` (see
    :func:`check_run_dir`).
    Returns the summary: test accuracy and loss (of the last epoch's model), epochs, time,
    paths. ``build_model(cfg, info)``, if given, builds the model instead of the registry
    (``cfg['model']`` is then only its name in the logs; experiments use it for their
    variants); ``callbacks`` go to the :class:`Trainer`. With ``val_split`` the per-epoch
    evaluation (and the choice of ``best.safetensors``) runs on the held-out training
    images and the test set is used once, at the end; without it the per-epoch evaluation
    is the test set's.
    """
    from cnnlab import nn
    from cnnlab.distributed.training import DistributedTrainer

    settings = {k: v for k, v in (settings or {}).items() if v is not None}
    if resume is not None and "task" not in settings:  # a run resumes as the task it was
        settings["task"] = load_checkpoint(resume).config.get("task", "classify")
    if settings.get("task", "classify") != "classify":  # segment, detect, caption: own modules
        from cnnlab.train.caption import train_captioning
        from cnnlab.train.detect import train_detection
        from cnnlab.train.segment import train_segmentation

        tasks = {"segment": train_segmentation, "detect": train_detection}
        tasks["caption"] = train_captioning
        if settings["task"] not in tasks:
            raise ValueError(
                "--task must be 'classify', 'segment', 'detect' or 'caption', got "
                f"{settings['task']!r}"
            )
        return tasks[settings["task"]](
            settings, out_dir, resume, progress, root, callbacks=callbacks, overwrite=overwrite
        )
    if resume is not None:
        ckpt = load_checkpoint(resume)
        check_config(ckpt)
        cfg = dict(ckpt.config)
        cfg.update({k: settings[k] for k in ("workers", "distributed") if k in settings})
        out_dir = Path(out_dir) if out_dir is not None else Path(ckpt.path).parent
    else:
        cfg = {**recipes.defaults_for(settings.get("model")), **settings}
        out_dir = Path(out_dir) if out_dir is not None else default_run_dir()
    from cnnlab import models

    if build_model is None:
        models.info(cfg["model"])  # unknown names fail before any data is loaded
    if cfg["optimizer"] not in recipes.DEFAULT_LR:
        names = ", ".join(recipes.DEFAULT_LR)
        raise ValueError(f"unknown optimizer {cfg['optimizer']!r}: expected one of {names}")
    for key in ("epochs", "batch_size"):
        if int(cfg[key]) < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be at least 1, got {cfg[key]}")
    ddp = distributed_run(cfg, resume)  # None unless --distributed
    if ddp is None or ddp.is_main:
        check_run_dir(out_dir, resume, overwrite)
    backend.manual_seed(int(cfg["seed"]))
    train_loader, val_loader, test_loader, info = recipes.build_split_loaders(cfg, root)
    cfg.update(info)
    if ddp is not None:
        train_loader, val_loader, test_loader = ddp.shard(train_loader, val_loader, test_loader)
    model = (build_model or recipes.build_model)(cfg, info)
    if ddp is not None:
        model = ddp.prepare_model(model)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=float(cfg.get("label_smoothing", 0.0)))
    trainer_cls, where = Trainer, {"out_dir": out_dir, "progress": progress}
    if ddp is not None:
        trainer_cls, where = DistributedTrainer, ddp.trainer_options(out_dir, progress)
    trainer = build_task_trainer(
        trainer_cls,
        model,
        loss_fn,
        cfg,
        train_loader,
        val_loader if val_loader is not None else test_loader,
        **where,
        val_name="val" if val_loader is not None else "test",
        resume=resume,
        callbacks=callbacks,
    )
    start = time.perf_counter()
    history = trainer.fit()
    last = history[-1] if history else {}
    if val_loader is not None:  # the test set, once, for the last epoch's model
        test = (ddp.evaluate if ddp is not None else evaluate)(
            model, test_loader, loss_fn, progress=progress, desc="test"
        )
        test_acc, test_loss = test["acc"], test["loss"]
    else:
        test_acc, test_loss = last.get("val_acc"), last.get("val_loss")
    summary = {
        "model": cfg["model"],
        "data": cfg["data"],
        "epochs": trainer.epoch,
        "train_images": len(train_loader.dataset),
        "test_images": len(test_loader.dataset),
        "test_acc": test_acc,
        "test_loss": test_loss,
        "train_time_s": round(time.perf_counter() - start, 1),
        "total_train_time_s": round(sum(r.get("time_s", 0.0) for r in history), 1),
        "out_dir": str(out_dir),
        "checkpoint": str(out_dir / "last.safetensors"),
    }
    if val_loader is not None:
        best = trainer.best_acc
        summary.update(
            val_images=len(val_loader.dataset),
            val_acc=last.get("val_acc"),
            val_loss=last.get("val_loss"),
            best_val_acc=best if np.isfinite(best) else None,
        )
    if ddp is not None:
        summary.update(ddp.summary())
        if not ddp.is_main:
            return summary
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def evaluate_checkpoint(
    checkpoint,
    data: str | None = None,
    out_dir=None,
    batch_size: int = 256,
    limit: int | None = None,
    progress: bool = False,
    root=None,
) -> dict:
    """Accuracy, per-class accuracy and confusion matrix of a checkpoint (or an ONNX file,
    opened by the model service) on a test set.

    ``data`` defaults to the data the checkpoint was trained on (an ONNX file needs it). The
    confusion-matrix PNG goes to ``out_dir`` (default: the checkpoint's folder).
    """
    from cnnlab import data as cdata
    from cnnlab.data import transforms as T
    from cnnlab.train.plots import plot_confusion_matrix

    if str(checkpoint).lower().endswith(".onnx"):  # through the model service
        from cnnlab.models.loading import open_model

        info = open_model(checkpoint)
        model, where, norm = info.model, str(checkpoint), info.normalize
        c, *size = info.shape
        cfg = {"classes": info.classes, "in_channels": c, "input_size": size}
        cfg.update(image_size=size[0], grayscale=c == 1)
    else:
        model, ckpt = model_from_checkpoint(checkpoint)
        cfg, where = ckpt.config, ckpt.path
        if cfg.get("task") == "caption":  # exact accuracy and BLEU: cnnlab/train/caption.py
            from cnnlab.train.caption import evaluate_caption_checkpoint

            args = (model, cfg, data, None, limit, progress, root)
            return {"checkpoint": ckpt.path, **evaluate_caption_checkpoint(*args)}
        if cfg.get("task") == "segment":  # IoU instead of accuracy: cnnlab/train/segment.py
            from cnnlab.train.segment import evaluate_segment_checkpoint

            out = Path(out_dir) if out_dir is not None else Path(ckpt.path).parent
            args = (model, cfg, data, batch_size, limit, progress, root, out)
            return {"checkpoint": ckpt.path, **evaluate_segment_checkpoint(*args)}
        if cfg.get("task") == "detect":  # mAP instead of accuracy: cnnlab/train/detect.py
            from cnnlab.train.detect import evaluate_detect_checkpoint

            args = (model, cfg, data, batch_size, limit, progress, root)
            return {"checkpoint": ckpt.path, **evaluate_detect_checkpoint(*args)}
        norm = (cfg["mean"], cfg["std"])
    data = data or cfg.get("data")
    if not data:
        raise CheckpointError(f"{where}: no data set recorded; pass --data")
    _, test_ds = recipes.load_datasets(
        data, root, cfg.get("image_size", 32), cfg.get("grayscale", False)
    )
    shape = recipes.sample_shape(test_ds)
    want = (cfg.get("in_channels"), *cfg.get("input_size", shape[1:]))
    if tuple(shape) != tuple(want):
        raise ValueError(f"data {data!r} has images of shape {shape}, the model expects {want}")
    if norm is not None:  # an ONNX export holds its normalisation inside: images in [0, 1]
        test_ds.transform = T.Compose([T.Normalize(*norm)])
    if limit:
        test_ds = cdata.Subset(test_ds, np.arange(min(int(limit), len(test_ds))))
    loader = cdata.DataLoader(test_ds, batch_size, shuffle=False, seed=0)
    res = evaluate(model, loader, return_outputs=True, progress=progress)
    classes = list(cfg.get("classes") or range(res["logits"].shape[1]))
    cm = confusion_matrix(res["targets"], res["logits"], len(classes))
    out_dir = Path(out_dir) if out_dir is not None else Path(where).parent
    png = plot_confusion_matrix(cm, classes, out_dir / f"confusion_{Path(str(data)).name}.png")
    return {
        "checkpoint": where,
        "data": data,
        "n": res["n"],
        "acc": res["acc"],
        "classes": [str(c) for c in classes],
        "per_class": per_class_accuracy(cm).tolist(),
        "confusion_matrix": cm.tolist(),
        "confusion_png": str(png),
    }


def format_eval_report(result: dict) -> str:
    """A human-readable accuracy line and per-class table."""
    if result.get("task") == "caption":
        from cnnlab.train.caption import format_caption_report

        return format_caption_report(result)
    if result.get("task") == "segment":
        from cnnlab.train.segment import format_segment_report

        return format_segment_report(result)
    if result.get("task") == "detect":
        from cnnlab.train.detect import format_detect_report

        return format_detect_report(result)
    cm = np.asarray(result["confusion_matrix"])
    width = max(5, *(len(c) for c in result["classes"]))
    lines = [
        f"accuracy {result['acc']:.4f} on {result['n']} images of {result['data']}",
        f"{'class':<{width}}  {'acc':>6}  {'n':>6}",
    ]
    for c, acc, n in zip(result["classes"], result["per_class"], cm.sum(axis=1)):
        lines.append(f"{c:<{width}}  {acc:>6.4f}  {n:>6d}")
    lines.append(f"confusion matrix: {result['confusion_png']}")
    return "\n".join(lines)


def predict_images(
    checkpoint,
    images: list,
    topk: int = 5,
    invert: bool = False,
    model_name: str | None = None,
    pretrained: bool = False,
) -> list[dict]:
    """Top-k classes with softmax probabilities for each image file, under a checkpoint or a
    registered model (``model_name``, with ``pretrained`` weights).

    Returns one ``{'image': path, 'top': [(class, probability), ...]}`` per image.
    """
    if topk < 1:
        raise ValueError(f"--topk must be at least 1, got {topk}")
    from cnnlab.images import load_image
    from cnnlab.models.loading import open_model

    info = open_model(checkpoint, model_name, pretrained)
    c, *size = info.shape
    batch = np.stack([load_image(p, tuple(size), channels=c) for p in images])
    probs = info.predict_probs(1.0 - batch if invert else batch)
    classes = list(info.classes or range(probs.shape[1]))
    k = min(topk, probs.shape[1])
    out = []
    for path, p in zip(images, probs):
        order = np.argsort(-p, kind="stable")[:k]
        out.append({"image": str(path), "top": [(str(classes[i]), float(p[i])) for i in order]})
    return out

"""The work behind ``cnnlab gan train``: plain values in (the CLI only parses), a summary out.
The other subcommands (sample, interpolate, neighbours, evaluate) are in
:mod:`cnnlab.gan.tools`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from cnnlab import backend
from cnnlab.gan.data import load_images, to_tanh_range
from cnnlab.gan.networks import build_gan, gan_config
from cnnlab.gan.trainer import GANTrainer
from cnnlab.train.checkpoint import load_checkpoint

__all__ = ["DEFAULTS", "EpochEvaluator", "train_gan"]

DEFAULTS = {
    "data": "fashion-mnist",
    "epochs": 10,
    "latent": 100,
    "batch_size": 128,
    "image_size": None,  # 28 for 28x28 data, else 32
    "conditional": False,
    "conditioning": "projection",  # measured better than "concat": README
    "ngf": 64,
    "ndf": 64,
    "lr": 2e-4,
    "beta1": 0.5,
    "seed": 0,
    "limit": None,
    "log_every": 10,
    "eval_n": 2000,
}


class EpochEvaluator:
    """Per-epoch Fréchet distance of ``n`` samples against ``n`` real test images in a
    classifier's feature space, next to its floor (``n`` real training images against the
    same test images: the value a perfect generator would get at this ``n``), and the
    classifier's predictions for the collapse check."""

    def __init__(self, probe, data: str, root, image_size: int, n: int = 2000) -> None:
        from cnnlab.gan.metrics import frechet_distance

        self.probe, self.n = probe, n
        test = load_images(data, root, image_size, train=False, limit=n)
        self.real = probe.run(test["images01"])["features"]
        train = load_images(data, root, image_size, train=True)["images01"]
        pick = np.random.default_rng(0).permutation(len(train))[: len(self.real)]
        self.floor = float(f"{frechet_distance(self.real, probe.run(train[pick])['features']):.6g}")

    def __call__(self, trainer) -> dict:
        from cnnlab.gan.metrics import frechet_distance
        from cnnlab.gan.sampling import sample

        fake = sample(trainer.G, min(self.n, len(self.real)), seed=1)
        fid = frechet_distance(self.real, self.probe.run(fake)["features"])
        return {"fid": float(f"{fid:.6g}"), "fid_floor": self.floor}

    def classify(self, images_tanh: np.ndarray) -> np.ndarray:
        return self.probe.predict((images_tanh + 1.0) / 2.0)


def _default_out() -> Path:
    from cnnlab.train.run import default_run_dir

    return default_run_dir("runs/gan")


def train_gan(
    settings: dict | None = None,
    out_dir=None,
    resume=None,
    progress: bool = True,
    root=None,
    classifier=None,
    overwrite: bool = False,
) -> dict:
    """Train a DCGAN with :data:`DEFAULTS` updated by ``settings`` (None values ignored).

    ``resume``: a run directory or checkpoint; the run continues with its saved settings to
    its planned epochs (``settings['epochs']`` may raise that number). ``classifier``: a
    classifier checkpoint of the same data; with it each epoch records the Fréchet distance
    and the collapse check uses its predicted classes. Writes metrics.csv, metrics.png,
    samples/epoch_NNN.png, progress.gif, fid.png, last.safetensors and summary.json; a
    folder that already holds another run is refused unless ``overwrite``
    (:func:`cnnlab.train.run.check_run_dir`).
    """
    settings = {k: v for k, v in (settings or {}).items() if v is not None}
    if resume is not None:
        ckpt = load_checkpoint(resume)
        cfg = dict(ckpt.config)
        if cfg.get("kind") != "dcgan":
            raise ValueError(f"{ckpt.path}: not a GAN run (written by `cnnlab gan train`)")
        if "epochs" in settings:
            cfg["epochs"] = int(settings["epochs"])
        out_dir = Path(out_dir) if out_dir is not None else Path(ckpt.path).parent
        classifier = classifier or cfg.get("classifier")
    else:
        cfg = {**DEFAULTS, **settings}
        out_dir = Path(out_dir) if out_dir is not None else _default_out()
    from cnnlab.train.run import check_run_dir

    check_run_dir(out_dir, resume, overwrite)
    for key in ("epochs", "batch_size", "latent"):
        if int(cfg[key]) < 1:
            raise ValueError(f"gan train: --{key.replace('_', '-')} must be >= 1, got {cfg[key]}")
    backend.manual_seed(int(cfg["seed"]))
    data = load_images(cfg["data"], root, cfg.get("image_size"), train=True, limit=cfg["limit"])
    arch = gan_config(
        data["channels"],
        data["image_size"],
        cfg["latent"],
        cfg["ngf"],
        cfg["ndf"],
        data["classes"],
        cfg["conditional"],
        cfg.get("conditioning", "concat"),
    )
    if resume is None:
        cfg.update(arch)
        cfg["classifier"] = str(classifier) if classifier else None
    pair = build_gan(cfg)
    evaluator = None
    if classifier:
        from cnnlab.gan.classifier import ClassifierProbe

        evaluator = EpochEvaluator(
            ClassifierProbe(classifier), cfg["data"], root, cfg["image_size"], cfg["eval_n"]
        )
    trainer = GANTrainer(
        pair,
        to_tanh_range(data["images01"]),
        data["labels"],
        epochs=int(cfg["epochs"]),
        batch_size=int(cfg["batch_size"]),
        lr=float(cfg["lr"]),
        betas=(float(cfg["beta1"]), 0.999),
        out_dir=out_dir,
        progress=progress,
        log_every=int(cfg["log_every"]),
        config=cfg,
        evaluate=evaluator,
        classify=None if evaluator is None else evaluator.classify,
        seed=int(cfg["seed"]),
    )
    if resume is not None:
        trainer.resume(resume)
    start = time.perf_counter()
    trainer.fit()
    summary = summarise(trainer, cfg, out_dir, time.perf_counter() - start)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def summarise(trainer: GANTrainer, cfg: dict, out_dir: Path, seconds: float) -> dict:
    """summary.json: settings, per-epoch history, health warnings with what to try."""
    history = trainer.history
    last = history[-1] if history else {}
    return {
        "data": cfg["data"],
        "conditional": bool(cfg["conditional"]),
        "image_size": cfg["image_size"],
        "epochs": trainer.epoch,
        "planned_epochs": trainer.epochs,
        "steps": trainer.step,
        "train_images": len(trainer.images),
        "stopped": trainer.stopped,
        "train_time_s": round(seconds, 1),
        "total_train_time_s": round(sum(r.get("time_s", 0.0) for r in history), 1),
        "final": {k: v for k, v in last.items() if k not in ("epoch", "step")},
        "fid_per_epoch": [r.get("fid") for r in history] if "fid" in last else None,
        "health_warnings": trainer.monitor.warnings,
        "healthy": not trainer.monitor.warnings and trainer.stopped is None,
        "history": history,
        "out_dir": str(out_dir),
        "checkpoint": str(out_dir / "last.safetensors"),
    }

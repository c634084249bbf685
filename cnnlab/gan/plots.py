"""Pictures of a GAN run: sample grids, the per-epoch progress GIF, the training metrics,
per-epoch numbers (the Fréchet distance) and the class histogram of samples."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from cnnlab.explain.render import make_grid, save_png
from cnnlab.train.plots import _figure, _save

__all__ = [
    "grid_image",
    "plot_class_histogram",
    "plot_epoch_metric",
    "plot_metrics",
    "save_progress_gif",
    "save_sample_grid",
]


def grid_image(images: np.ndarray, ncol: int | None = None) -> np.ndarray:
    """Images in [-1, 1] or [0, 1] ``(N, C, H, W)`` -> one [0, 1] grid picture."""
    x = np.asarray(images, np.float32)
    if x.min() < 0:
        x = (x + 1.0) / 2.0
    x = np.clip(x, 0, 1)
    tiles = x[:, 0] if x.shape[1] == 1 else x.transpose(0, 2, 3, 1)
    return make_grid(tiles, ncol=ncol, pad=1, pad_value=1.0)


def save_sample_grid(path, images: np.ndarray, ncol: int | None = None) -> Path:
    """A grid PNG of generated images (``(N, C, H, W)``, [-1, 1] or [0, 1])."""
    return save_png(path, grid_image(images, ncol), min_side=256)


def save_progress_gif(frames_dir, path, duration_ms: int = 500) -> Path | None:
    """``progress.gif``: the per-epoch grid PNGs in ``frames_dir`` (epoch_*.png) in order."""
    from PIL import Image

    files = sorted(Path(frames_dir).glob("epoch_*.png"))
    if not files:
        return None
    frames = [Image.open(f).convert("P", palette=Image.Palette.ADAPTIVE) for f in files]
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    frames[0].save(
        tmp, format="GIF", save_all=True, append_images=frames[1:], duration=duration_ms, loop=0
    )
    tmp.replace(path)
    return path


def _read_csv(path) -> dict:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    # a column added later (D_G_z_after_G) is empty in the rows of an older run: NaN there
    return {
        k: np.array([float(r[k]) if r.get(k) not in (None, "") else np.nan for r in rows])
        for k in rows[0]
    }


def plot_metrics(csv_path, path) -> Path | None:
    """Losses, D outputs and gradient norms against the step, from ``metrics.csv``."""
    if not Path(csv_path).exists():
        return None
    m = _read_csv(csv_path)
    if not m:
        return None
    fig = _figure(13, 3.6)
    a, b, c = fig.subplots(1, 3)
    s = m["step"]
    a.plot(s, m["loss_D"], label="loss_D")
    a.plot(s, m["loss_G"], label="loss_G")
    a.set_title("losses")
    b.plot(s, m["D_x"], label="D(x)")
    b.plot(s, m["D_G_z_before"], label="D(G(z)) in D's step")
    b.plot(s, m["D_G_z_after"], label="D(G(z)) in G's step (before its update)")
    if "D_G_z_after_G" in m:
        b.plot(s, m["D_G_z_after_G"], label="D(G(z)) after G's update")
    b.set_ylim(0, 1)
    b.set_title("discriminator outputs")
    c.semilogy(s, np.maximum(m["grad_norm_D"], 1e-12), label="D")
    c.semilogy(s, np.maximum(m["grad_norm_G"], 1e-12), label="G")
    c.set_title("gradient norms")
    for ax in (a, b, c):
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_epoch_metric(history: list[dict], key: str, path, floor: float | None = None):
    """``key`` (e.g. ``fid``) per epoch, with an optional horizontal ``floor`` line (the
    real-vs-real value); nothing is drawn when no epoch has ``key``."""
    rows = [r for r in history if r.get(key) is not None]
    if not rows:
        return None
    fig = _figure(5, 3.6)
    ax = fig.subplots()
    ax.plot([r["epoch"] for r in rows], [r[key] for r in rows], "o-", label=key)
    if floor is not None:
        ax.axhline(floor, color="grey", ls="--", label="real train vs real test")
    ax.set_xlabel("epoch")
    ax.set_title(f"{key} per epoch")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_class_histogram(counts, classes: list, path, title: str = "") -> Path:
    """Bar chart of how many samples the classifier put in each class."""
    counts = np.asarray(counts, np.float64)
    fig = _figure(7, 3.6)
    ax = fig.subplots()
    share = counts / max(counts.sum(), 1)
    ax.bar(range(len(counts)), share)
    ax.axhline(0.2, color="red", ls="--", lw=0.8, label="20%")
    ax.axhline(1 / len(counts), color="grey", ls=":", lw=0.8, label="uniform")
    ax.set_xticks(range(len(counts)))
    ax.set_xticklabels([str(c) for c in classes], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("share of samples")
    ax.set_title(title or "predicted classes of generated samples")
    ax.legend(fontsize=8)
    return _save(fig, path)

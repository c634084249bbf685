"""PNG figures of a run: loss/accuracy curves and confusion matrices.

Uses matplotlib's object API with the Agg canvas directly, so it never touches pyplot's
global state or needs a display.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_confusion_matrix", "plot_history"]


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    return path


def plot_history(history: list[dict], path, val_name: str = "val") -> Path:
    """Loss and accuracy per epoch (train, and the ``val_*`` columns where present, drawn
    as ``val_name``: "test" when the per-epoch evaluation runs on the test set) side by
    side."""
    epochs = [r["epoch"] for r in history]
    fig = _figure(10, 4)
    for ax, key, title in zip(fig.subplots(1, 2), ("loss", "acc"), ("loss", "accuracy")):
        ax.plot(epochs, [r[key] for r in history], "o-", label="train")
        val = [r.get(f"val_{key}") for r in history]
        if any(v is not None and v != "" for v in val):
            ax.plot(epochs, [np.nan if v in (None, "") else v for v in val], "s-", label=val_name)
        miou = [r.get("val_miou") for r in history]
        if key == "acc" and any(v is not None and v != "" for v in miou):  # a segmenter's
            shown = [np.nan if v in (None, "") else v for v in miou]
            ax.plot(epochs, shown, "^-", label=f"{val_name} mean IoU")
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(fig, path)


def plot_confusion_matrix(
    cm: np.ndarray, classes: list | None, path, normalize: bool = True
) -> Path:
    """Heat map of a confusion matrix (rows: true class, columns: predicted)."""
    cm = np.asarray(cm)
    n = cm.shape[0]
    classes = [str(c) for c in (classes or range(n))]
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    size = max(5.0, 0.55 * n + 2)
    fig = _figure(size, size)
    ax = fig.subplots()
    im = ax.imshow(shown, cmap="Blues", vmin=0)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(n), classes, rotation=45, ha="right")
    ax.set_yticks(range(n), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if n <= 20:
        high = shown.max() / 2 if shown.size else 0
        for i in range(n):
            for j in range(n):
                text = f"{shown[i, j]:.2f}" if normalize else str(cm[i, j])
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if shown[i, j] > high else "black",
                )
    return _save(fig, path)

"""The robustness report: accuracy-versus-ε curves for FGSM and PGD (table and PNG), success
rates and mean perturbation norms, and grids of clean / perturbed / difference images with the
predicted labels and confidences.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from cnnlab.attacks.fgsm import fgsm, pgd

__all__ = [
    "markdown_table",
    "plot_examples",
    "plot_images",
    "plot_robustness_curve",
    "robustness_curve",
    "write_summary",
]


def robustness_curve(
    model,
    x,
    labels,
    eps_values,
    *,
    methods=("fgsm", "pgd"),
    norm: str = "inf",
    pgd_steps: int = 10,
    bounds: tuple[float, float] = (0.0, 1.0),
    rng: np.random.Generator | None = None,
) -> list[dict]:
    """Accuracy of ``model`` on ``x`` under each attack at each ε (ε = 0 is clean accuracy).

    Returns one row per (method, ε): ``method, eps, norm, accuracy, success_rate, mean_l2,
    mean_linf`` (norms over the successful attacks).
    """
    attacks = {"fgsm": fgsm, "pgd": pgd}
    rows = []
    for name in methods:
        if name not in attacks:
            raise ValueError(f"robustness_curve: unknown method {name!r}; use 'fgsm' or 'pgd'")
        for eps in eps_values:
            kw = {"steps": pgd_steps, "rng": rng} if name == "pgd" else {}
            r = attacks[name](model, x, labels, eps=float(eps), norm=norm, bounds=bounds, **kw)
            s = r.summary()
            rows.append(
                {
                    "method": name,
                    "eps": float(eps),
                    "norm": norm,
                    "accuracy": r.adv_accuracy,
                    "success_rate": s["success_rate"],
                    "mean_l2": s["mean_l2"],
                    "mean_linf": s["mean_linf"],
                }
            )
    return rows


def _fmt(v) -> str:
    if isinstance(v, float):
        return "–" if math.isnan(v) else f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def markdown_table(rows: list[dict], columns=None) -> str:
    """A Markdown table of ``rows`` (dicts), with ``columns`` (default: the first row's keys)."""
    if not rows:
        return ""
    columns = list(columns or rows[0].keys())
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_robustness_curve(rows: list[dict], path, title: str = "Accuracy under attack") -> Path:
    """Accuracy versus ε, one line per method; saved as a PNG at ``path``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 3.2), dpi=100)
    for name in dict.fromkeys(r["method"] for r in rows):
        pts = [(r["eps"], r["accuracy"]) for r in rows if r["method"] == name]
        ax.plot(*zip(*pts), marker="o", label=name.upper())
    norm = rows[0]["norm"] if rows else "inf"
    ax.set_xlabel("ε (L∞)" if norm == "inf" else "ε (L2)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def _show(img):
    """(C, H, W) -> what imshow wants (H, W) grey or (H, W, 3) RGB."""
    img = np.asarray(img)
    return img[0] if img.shape[0] == 1 else np.transpose(img, (1, 2, 0))


def _name(i, class_names) -> str:
    return str(class_names[i]) if class_names is not None else str(int(i))


def plot_examples(
    result, path, class_names=None, n: int = 6, bounds=(0.0, 1.0), successes_first: bool = True
) -> Path:
    """A grid with one row per image: clean, perturbed and the difference (amplified to the
    full grey range), titled with the predicted label and confidence; saved at ``path``.

    With ``successes_first`` the rows show successful attacks first (in input order), then
    the rest, each failure marked "(failed)"; the rates are in the summary, not the picture.
    """
    plt = _pyplot()
    order = np.arange(result.x.shape[0])
    if successes_first:
        order = np.argsort(~(result.success & result.attempted), kind="stable")
    idx = order[:n]
    fig, axes = plt.subplots(len(idx), 3, figsize=(6.3, 2.1 * len(idx)), dpi=80, squeeze=False)
    lo, hi = bounds
    for row, i in enumerate(idx):
        d = result.x_adv[i] - result.x[i]
        scale = float(np.abs(d).max()) or 1.0
        cells = [
            (
                result.x[i],
                f"{_name(result.clean_pred[i], class_names)} {result.clean_conf[i]:.1%}"
                + ("" if result.clean_pred[i] == result.labels[i] else " (wrong)"),
                (lo, hi),
            ),
            (
                result.x_adv[i],
                f"{_name(result.adv_pred[i], class_names)} "
                f"{result.adv_conf[i]:.1%}" + ("" if result.success[i] else " (failed)"),
                (lo, hi),
            ),
            (0.5 + 0.5 * d / scale, f"Δ ×{0.5 / scale:.3g}  L∞ {result.linf[i]:.3f}", (0, 1)),
        ]
        for col, (img, title, (vmin, vmax)) in enumerate(cells):
            ax = axes[row, col]
            shown = _show(np.clip((img - vmin) / (vmax - vmin), 0, 1))
            ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    for col, head in enumerate(("clean", result.method, "difference")):
        axes[0, col].set_title(f"{head}\n{axes[0, col].get_title()}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_images(images, titles, path, ncols: int = 5, bounds=(0.0, 1.0)) -> Path:
    """A grid of images (N, C, H, W) with one title each; saved at ``path``."""
    plt = _pyplot()
    images = np.asarray(images)
    nrows = max(1, math.ceil(len(images) / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(1.6 * ncols, 2.0 * nrows), dpi=80, squeeze=False
    )
    lo, hi = bounds
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(images):
            shown = _show(np.clip((images[k] - lo) / (hi - lo), 0, 1))
            ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_title(titles[k], fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def _jsonable(v):
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items() if not isinstance(x, np.ndarray)}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def write_summary(summary: dict, path) -> Path:
    """``summary`` as JSON (arrays dropped, NaN as null) at ``path``."""
    Path(path).write_text(json.dumps(_jsonable(summary), indent=2) + "\n")
    return Path(path)

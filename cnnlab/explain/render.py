"""Pictures from explanation arrays: grids, heatmaps, overlays, PNG files (Pillow; matplotlib's
colormaps and, for captioned panels, its Agg backend).

Every function takes float arrays and returns float arrays in [0, 1] (``(H, W)`` grey or
``(H, W, 3)`` colour) until :func:`save_png` writes them; small images are enlarged with
nearest-neighbour sampling so each pixel stays visible.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = [
    "heatmap",
    "make_grid",
    "overlay",
    "save_explanation",
    "save_panels",
    "save_png",
    "signed_image",
    "to_hwc",
    "unit_range",
]


def unit_range(a: np.ndarray) -> np.ndarray:
    """``a`` scaled linearly to [0, 1] (a constant array gives zeros)."""
    a = np.asarray(a, np.float32)
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def to_hwc(image: np.ndarray) -> np.ndarray:
    """``(C, H, W)`` -> ``(H, W)`` (one channel) or ``(H, W, 3)``; ``(H, W[, 3])`` unchanged."""
    a = np.asarray(image, np.float32)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
        a = a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)
    elif a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    return a


def signed_image(raw: np.ndarray) -> np.ndarray:
    """A signed signal ``(C, H, W)`` as a picture: 0.5 + x / (2 max|x|) (grey where zero)."""
    m = float(np.abs(raw).max())
    return to_hwc(0.5 + raw / (2 * m) if m > 0 else np.full_like(raw, 0.5))


def make_grid(
    tiles: np.ndarray, ncol: int | None = None, pad: int = 1, pad_value: float = 1.0
) -> np.ndarray:
    """Tiles ``(N, h, w)`` or ``(N, h, w, 3)`` in a grid of ``ncol`` columns (default about
    square), separated by ``pad`` pixels of ``pad_value``.

    Shape:
        - tiles: (N, h, w[, 3]); output: (rows*(h+pad)-pad, ncol*(w+pad)-pad[, 3])
    """
    t = np.asarray(tiles, np.float32)
    n, h, w = t.shape[:3]
    ncol = ncol or int(np.ceil(np.sqrt(n)))
    nrow = int(np.ceil(n / ncol))
    out = np.full(
        (nrow * (h + pad) - pad, ncol * (w + pad) - pad, *t.shape[3:]), pad_value, np.float32
    )
    for i in range(n):
        r, c = divmod(i, ncol)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = t[i]
    return out


def heatmap(m: np.ndarray, cmap: str = "inferno", normalize: bool = True) -> np.ndarray:
    """An ``(H, W)`` map in colour, ``(H, W, 3)``."""
    from matplotlib import colormaps

    m = unit_range(m) if normalize else np.clip(m, 0, 1)
    return colormaps[cmap](m)[..., :3].astype(np.float32)


def overlay(image: np.ndarray, m: np.ndarray, alpha: float = 0.5, cmap: str = "jet"):
    """The heatmap of ``m`` blended over ``image`` (``(C, H, W)`` or ``(H, W[, 3])``), with
    more heat where the map is larger.

    Shape:
        - image: (C, H, W); m: (H, W); output: (H, W, 3)
    """
    base = to_hwc(image)
    if base.ndim == 2:
        base = np.repeat(base[..., None], 3, axis=2)
    if base.shape[:2] != np.shape(m):
        raise ValueError(f"overlay: image {base.shape[:2]} and map {np.shape(m)} differ in size")
    weight = alpha * unit_range(m)[..., None]
    return np.clip((1 - weight) * base + weight * heatmap(m, cmap), 0, 1)


def _scale_for(shape, min_side: int) -> int:
    return max(1, int(np.ceil(min_side / max(min(shape[:2]), 1))))


def save_png(path, image: np.ndarray, min_side: int = 112) -> Path:
    """Write a [0, 1] picture (``(H, W)``, ``(H, W, 3)`` or ``(C, H, W)``) as an 8-bit PNG,
    enlarged by an integer factor (nearest neighbour) until its short side is ``min_side``."""
    from PIL import Image

    a = to_hwc(image)
    k = _scale_for(a.shape, min_side)
    if k > 1:
        a = a.repeat(k, axis=0).repeat(k, axis=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path, optimize=True)
    return path


def save_panels(path, pictures: list, titles: list, height: float = 2.2, dpi: int = 80) -> Path:
    """Pictures side by side with captions in one PNG (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(height * len(pictures), height + 0.3), dpi=dpi)
    for i, (pic, title) in enumerate(zip(pictures, titles)):
        ax = fig.add_subplot(1, len(pictures), i + 1)
        a = np.clip(to_hwc(pic), 0, 1)
        ax.imshow(a, cmap="gray" if a.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout(pad=0.3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def save_explanation(
    expl, out_dir, prefix: str, with_overlay: bool = True, cmap: str = "jet"
) -> list:
    """Write an :class:`~cnnlab.explain.base.Explanation` as ``<prefix>_input.png``,
    ``<prefix>_map.png``, ``<prefix>_overlay.png`` (when the map has the image's size) and
    ``<prefix>_raw.png`` (signed gradients, where present). Returns the paths."""
    out = Path(out_dir)
    paths = [
        save_png(out / f"{prefix}_input.png", np.clip(to_hwc(expl.image), 0, 1)),
        save_png(out / f"{prefix}_map.png", heatmap(expl.map, "inferno")),
    ]
    if with_overlay and tuple(np.shape(expl.map)) == tuple(np.shape(expl.image)[-2:]):
        paths.append(
            save_png(out / f"{prefix}_overlay.png", overlay(expl.image, expl.map, 0.6, cmap))
        )
    if expl.raw is not None:
        paths.append(save_png(out / f"{prefix}_raw.png", signed_image(expl.raw)))
    return paths

"""Pictures wherever the user is: inline in Jupyter, as PNG files from a terminal.

:func:`show` turns an image, a batch, a stack of feature maps, an explanation or an attack
result into a :class:`Picture`. A Picture that is the last expression of a notebook cell is
drawn inline (Jupyter's rich display protocol: ``_repr_png_``); anywhere, ``.save(path)``
writes it. Summaries, explanations and attack results display themselves the same way
(``_repr_html_`` / ``_repr_png_`` on those classes call the helpers here).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

__all__ = ["Picture", "html_table", "show"]


class Picture:
    """A picture in [0, 1] (``(H, W)`` grey or ``(H, W, 3)`` colour) with an optional title.

    Small pictures are enlarged by an integer factor (nearest neighbour, each pixel stays
    visible) until the short side is ``min_side`` when drawn or saved."""

    def __init__(self, array, title: str | None = None, min_side: int = 112) -> None:
        a = np.asarray(array, np.float32)
        if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] != 3):
            raise ValueError(f"Picture: expected (H, W) or (H, W, 3), got shape {a.shape}")
        self.array = np.clip(np.nan_to_num(a, nan=0.0), 0.0, 1.0)
        self.title, self.min_side = title, int(min_side)

    @property
    def shape(self) -> tuple:
        return self.array.shape

    def png(self) -> bytes:
        """The picture as PNG bytes (enlarged as described above)."""
        from PIL import Image

        a = self.array
        k = max(1, int(np.ceil(self.min_side / max(min(a.shape[:2]), 1))))
        if k > 1:
            a = a.repeat(k, axis=0).repeat(k, axis=1)
        buf = io.BytesIO()
        Image.fromarray((a * 255 + 0.5).astype(np.uint8)).save(buf, format="PNG", optimize=True)
        return buf.getvalue()

    def save(self, path) -> Path:
        """Write the PNG to ``path`` (folders made as needed); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.png())
        return path

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png()).decode("ascii")

    def _repr_png_(self) -> bytes:
        return self.png()

    def _picture(self) -> Picture:  # show(picture) gives a copy (its own title, save)
        return Picture(self.array, self.title, self.min_side)

    def __repr__(self) -> str:
        h, w = self.array.shape[:2]
        what = f" {self.title!r}" if self.title else ""
        return f"<Picture{what} {h}x{w}: shown inline in Jupyter; .save('file.png') writes it>"


def _array(x) -> np.ndarray:
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    return np.asarray(x, np.float32)


def _tiles(batch: np.ndarray) -> np.ndarray:
    """(N, C, H, W) with C in (1, 3) -> (N, H, W[, 3]) tiles."""
    return batch[:, 0] if batch.shape[1] == 1 else batch.transpose(0, 2, 3, 1)


def _picture_of(x, normalize: bool, ncol) -> np.ndarray:
    from cnnlab.explain.render import make_grid, unit_range

    a = _array(x)
    scale = unit_range if normalize else (lambda v: np.clip(v, 0, 1))
    if a.ndim == 2:
        return scale(a)
    if a.ndim == 3 and a.shape[-1] == 3 and a.shape[0] not in (1, 3):
        return scale(a)  # already (H, W, 3)
    if a.ndim == 3 and a.shape[0] in (1, 3):
        return scale(a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0))
    if a.ndim == 3:  # (C, H, W) feature maps: one grey tile per channel, each scaled alone
        return make_grid(np.stack([scale(m) for m in a]), ncol, pad=1, pad_value=1.0)
    if a.ndim == 4 and a.shape[1] in (1, 3):  # a batch of images
        return make_grid(scale(_tiles(a)), ncol, pad=2, pad_value=1.0)
    if a.ndim == 4 and a.shape[0] == 1:  # one image's feature maps (1, C, H, W)
        return _picture_of(a[0], normalize, ncol)
    raise ValueError(
        f"show: expected an image (H, W), (C, H, W), (H, W, 3), a batch (N, 1 or 3, H, W) or "
        f"feature maps (C, H, W); got shape {a.shape}"
    )


def show(x, *, title: str | None = None, ncol: int | None = None, normalize: bool = True,
         save=None) -> Picture:  # fmt: skip
    """A :class:`Picture` of ``x``, drawn inline when it ends a notebook cell.

    ``x``: a Tensor or array: an image ``(H, W)``, ``(1 or 3, H, W)`` or ``(H, W, 3)``; a
    batch ``(N, 1 or 3, H, W)`` (a grid of ``ncol`` columns); feature maps ``(C, H, W)`` or
    ``(1, C, H, W)`` (one tile per channel); an explanation (``cnnlab.explain``: input, map
    and overlay), an attack result (``cnnlab.attacks``: clean, adversarial, difference) or a
    Picture (a scene's ``show(i)``, for example). ``normalize`` stretches each image (each
    feature map) to [0, 1]; otherwise values are clipped to [0, 1]. ``save``: also write the
    PNG there."""
    if hasattr(x, "_picture"):
        pic = x._picture()
        pic.title = title or pic.title
    else:
        pic = Picture(_picture_of(x, normalize, ncol), title)
    if save is not None:
        pic.save(save)
    return pic


def side_by_side(pictures: list, pad: int = 4) -> np.ndarray:
    """Pictures of one height in a row, ``pad`` white pixels apart, all as RGB.

    Shape: each (H, W_i[, 3]) -> (H, sum W_i + pad * (n - 1), 3)."""
    rgb = [p if p.ndim == 3 else np.repeat(p[..., None], 3, axis=2) for p in pictures]
    h = max(p.shape[0] for p in rgb)
    gap = np.ones((h, pad, 3), np.float32)
    row = []
    for i, p in enumerate(rgb):
        if p.shape[0] < h:  # centre a shorter picture on white
            top = (h - p.shape[0]) // 2
            p = np.pad(p, ((top, h - p.shape[0] - top), (0, 0), (0, 0)), constant_values=1.0)
        row += [gap, p] if i else [p]
    return np.concatenate(row, axis=1)


def html_table(head: list, rows: list, caption: str | None = None) -> str:
    """An HTML table; every cell and the caption are escaped (class names may hold markup)."""
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    th = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table>{cap}<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"

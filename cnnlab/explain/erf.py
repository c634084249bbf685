"""The effective receptive field (Luo, Li, Urtasun and Zemel 2016): how strongly each input
pixel actually moves one unit, as opposed to the theoretical field that can move it.

The map is ``mean over images of sum over channels |d u / d x|`` for the unit ``u`` at the
centre of a layer's output (channel ``channel``, or all channels summed), over random uniform
images or one given image. Unlike :func:`cnnlab.inspect.empirical_receptive_field` (which
linearises the network to find the theoretical extent), ReLUs and pooling act as they do on
the data, so the map shows the roughly Gaussian, centre-weighted shape the paper reports.
"""

from __future__ import annotations

import numpy as np

import cnnlab
from cnnlab.backend import to_numpy
from cnnlab.explain.base import (
    Explanation,
    as_batch,
    capture,
    evaluating,
    last_conv_name,
    model_function,
)

__all__ = ["effective_receptive_field"]


def effective_receptive_field(
    model,
    shape: tuple | None = None,
    layer=None,
    image=None,
    samples: int = 8,
    channel: int | None = None,
    normalize=None,
    seed: int = 0,
) -> Explanation:
    """Input-gradient magnitude of the centre unit of ``layer`` (default: the last ``Conv2d``).

    Args:
        shape: input ``(C, H, W)`` of the random images (not needed with ``image``).
        image: one image ``(C, H, W)`` to use instead of ``samples`` random ones.
        channel: the unit's channel; None sums all channels at the centre position.

    Returns an :class:`Explanation` with ``map`` the magnitude ``(H, W)`` and
    ``extra['unit']`` = (channel, row, col), ``extra['extent']`` the (rows, cols) span of
    non-zero gradient.

    Shape:
        - map: (H, W)
    """
    if image is not None:
        x = as_batch(image, "effective_receptive_field")
    else:
        if shape is None or len(shape) != 3:
            raise ValueError(
                f"effective_receptive_field: give shape=(C, H, W) or image, got {shape}"
            )
        x = np.random.default_rng(seed).random((samples, *shape), dtype=np.float32)
    layer = last_conv_name(model) if layer is None else layer
    f = model_function(model, normalize)
    xt = cnnlab.tensor(x, requires_grad=True)
    with evaluating(model), capture(model, layer) as store:
        f(xt)
        out = store.get("out")
        if out is None or out.ndim != 4:
            raise ValueError(
                f"effective_receptive_field: layer {layer!r} must output a "
                f"(N, K, h, w) map, got {None if out is None else out.shape}"
            )
        r, q = out.shape[2] // 2, out.shape[3] // 2
        unit = out[:, :, r, q] if channel is None else out[:, channel, r, q]
        (g,) = cnnlab.grad(unit.sum(), [xt])
        g = None if g is None else g.array  # the raw array
    g = np.zeros(x.shape, x.dtype) if g is None else to_numpy(g)
    mag = np.abs(g).sum(1).mean(0).astype(np.float32)
    rows, cols = np.flatnonzero(mag.sum(1) > 0), np.flatnonzero(mag.sum(0) > 0)
    extent = ((int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1]))) if rows.size else None
    return Explanation(
        x[0],
        mag,
        channel,
        None,
        extra={
            "method": "erf",
            "layer": layer,
            "unit": (channel, r, q),
            "extent": extent,
            "samples": len(x),
        },
    )

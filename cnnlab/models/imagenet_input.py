"""The input pipeline of an ImageNet-trained model, as a layer at the front of the model:
grey to RGB, resize to the model's size, so callers (training, ``explain``, ``attack``,
``serve``) hand the model pixels in [0, 1] at the data set's own size and gradients reach
those pixels. The ImageNet mean/std normalisation follows inside the model itself.

The resize is :func:`cnnlab.images.resize_shorter`'s (bilinear, antialiased when shrinking,
PIL's filter) written as two matrix products, ``R_h @ x @ R_w^T``, so it is differentiable
and gives the same pixels as the one image pipeline of :mod:`cnnlab.images`.
"""

from __future__ import annotations

import numpy as np

import cnnlab
from cnnlab import nn

__all__ = ["ImageNetInput"]


class ImageNetInput(nn.Module):
    """Grey -> RGB (``repeat=True``: the grey plane copied to 3 channels) and resize to
    ``size`` (None: keep). Square inputs are resized to ``size x size``; other shapes keep
    their aspect: the shorter side becomes ``size`` (then no crop: the pooling is global).

    Shape:
        - input: (N, 1 or 3, H, W) in [0, 1]; output: (N, 3 or C, size, size')
    """

    def __init__(self, size: int | None = None, repeat: bool = False) -> None:
        super().__init__()
        if size is not None and int(size) < 1:
            raise ValueError(f"ImageNetInput: size must be at least 1, got {size}")
        self.size = None if size is None else int(size)
        self.repeat = bool(repeat)
        self._matrices: dict = {}  # (n_in, n_out) -> R: not state, rebuilt on demand

    def _matrix(self, n_in: int, n_out: int, like, transpose: bool = False):
        key = (n_in, n_out, str(like.dtype), transpose)
        if key not in self._matrices:
            from cnnlab.images import resize_matrix

            r = resize_matrix(n_in, n_out).astype(like.dtype)
            r = np.ascontiguousarray(r.T) if transpose else r
            xp = cnnlab.get_array_module(like)
            self._matrices[key] = xp.asarray(r) if xp is not np else r
        return self._matrices[key]

    def forward(self, x):
        if self.repeat and x.shape[1] == 1:
            x = cnnlab.cat([x, x, x], dim=1)
        if self.size is None:
            return x
        h, w = x.shape[2], x.shape[3]
        if h <= w:
            nh, nw = self.size, int(self.size * w / h)
        else:
            nh, nw = int(self.size * h / w), self.size
        if (nh, nw) == (h, w):
            return x
        rh = cnnlab.tensor(self._matrix(h, nh, x.array))
        rw_t = cnnlab.tensor(self._matrix(w, nw, x.array, transpose=True))
        return (rh @ x) @ rw_t

    def extra_repr(self) -> str:
        return f"size={self.size}, repeat={self.repeat}"

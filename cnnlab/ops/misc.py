"""Linear (fully connected), dropout and interpolation (resizing) ops."""

from __future__ import annotations

import math

import numpy as np

from cnnlab import backend, kernels
from cnnlab.autograd import Function, Tensor
from cnnlab.backend import get_array_module
from cnnlab.ops.resample import cubic_kernel, kernel_taps, triangle_kernel

__all__ = ["Dropout", "Interpolate", "Linear", "dropout", "dropout2d", "interpolate", "linear"]


# ------------------------------------------------------------------------ linear
class Linear(Function):
    @staticmethod
    def forward(x, weight, bias):
        x2 = x.reshape(-1, x.shape[-1])
        y = kernels.matmul(x2, weight.T)
        if bias is not None:
            y += bias
        return y.reshape(x.shape[:-1] + (weight.shape[0],)), (x2, weight, x.shape, bias is not None)

    # dL/dx = g W, dL/dW = g^T x, dL/db = sum over rows of g  (leading dims flattened)
    @staticmethod
    def backward(ctx, g):
        x2, weight, shape, has_bias = ctx
        g2 = g.reshape(-1, weight.shape[0])
        gx = kernels.matmul(g2, weight).reshape(shape)
        gw = kernels.matmul(g2.T, x2)
        return gx, gw, (g2.sum(axis=0) if has_bias else None)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y = x W^T + b``.

    Shape: input ``(*, in_features)``, weight ``(out_features, in_features)``, bias
    ``(out_features,)``; output ``(*, out_features)``.
    """
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out, in), got shape {tuple(weight.shape)}")
    if input.ndim < 1 or input.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: expected input with {weight.shape[1]} features in its last dim, "
            f"got shape {tuple(input.shape)}"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(
            f"linear: expected bias of shape ({weight.shape[0]},), got {tuple(bias.shape)}"
        )
    return Linear.apply(input, weight, bias)


# ----------------------------------------------------------------------- dropout
class Dropout(Function):
    @staticmethod
    def forward(x, *, mask):
        return x * mask, mask

    # dL/dx = g * mask   (mask holds 0 or 1 / (1 - p))
    @staticmethod
    def backward(ctx, g):
        return (g * ctx,)


def _dropout(name: str, input: Tensor, p: float, training: bool, mask_shape: tuple) -> Tensor:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    xp = get_array_module(input)
    dtype = input.dtype
    if p == 1.0:
        mask = xp.zeros(mask_shape, dtype=dtype)
    else:
        keep = backend.default_rng().random(mask_shape, dtype=np.float32) >= p
        mask = xp.asarray(keep.astype(dtype) * dtype.type(1.0 / (1.0 - p)))
    return Dropout.apply(input, mask=mask)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by
    ``1 / (1 - p)``; the identity when ``training`` is False. Draws from
    :func:`cnnlab.backend.default_rng` (seed with :func:`cnnlab.manual_seed`). ``inplace`` is
    accepted for PyTorch compatibility (computed out of place).

    Shape: any; output has the input's shape.
    """
    return _dropout("dropout", input, p, training, tuple(input.shape))


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels with probability ``p`` (one draw per ``(n, c)``), scale the rest.

    Shape: ``(N, C, H, W)`` or ``(N, C, L)``; output has the input's shape.
    """
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 3-D or 4-D input, got shape {input.shape}")
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _dropout("dropout2d", input, p, training, shape)


# ------------------------------------------------------------------- interpolate
def _sum_runs(g, idx, n: int, axis: int):
    """Scatter-add ``g`` along ``axis`` into ``n`` slots at ``idx`` (fast when non-decreasing)."""
    xp = get_array_module(g)
    out_n = idx.shape[0]
    k = out_n // n
    if k >= 1 and k * n == out_n and np.array_equal(idx, np.arange(out_n) // k):  # integer factor
        return g.reshape(g.shape[:axis] + (n, k) + g.shape[axis + 1 :]).sum(axis=axis + 1)
    if xp is not np:  # pragma: no cover - CuPy has no reduceat
        import cupyx

        out = xp.zeros(g.shape[:axis] + (n,) + g.shape[axis + 1 :], dtype=g.dtype)
        cupyx.scatter_add(out, (slice(None),) * axis + (xp.asarray(idx),), g)
        return out
    if np.any(np.diff(idx) < 0):  # not sorted (a flipped crop): add one slice at a time
        out = xp.zeros(g.shape[:axis] + (n,) + g.shape[axis + 1 :], dtype=g.dtype)
        np.add.at(np.moveaxis(out, axis, 0), idx, np.moveaxis(g, axis, 0))
        return out
    uniq, starts = np.unique(idx, return_index=True)
    runs = np.add.reduceat(g, starts, axis=axis)
    if len(uniq) == n:
        return runs
    out = xp.zeros(g.shape[:axis] + (n,) + g.shape[axis + 1 :], dtype=g.dtype)
    out[(slice(None),) * axis + (xp.asarray(uniq),)] = runs
    return out


class Interpolate(Function):
    """Separable resize: per spatial axis ``y = x[i0] * l0 + x[i1] * l1`` (nearest: ``x[i0]``),
    or ``y = sum_j x[index[:, j]] * weight[:, j]`` over a tap table (cubic, antialiased).

    ``maps`` holds one ``(i0, i1, l0, l1)`` or ``(index, weight)`` (both ``(out, taps)``, from
    :func:`cnnlab.ops.resample.kernel_taps`) per spatial axis (``None`` for an identity axis;
    ``i1, l0, l1`` None for nearest); index arrays are NumPy (fastest non-decreasing).
    ``mode``, ``align_corners`` and ``antialias`` (F.interpolate's) are kept for the ONNX
    exporter.
    """

    @staticmethod
    def forward(x, *, maps, mode=None, align_corners=None, antialias=False):
        xp = get_array_module(x)
        y, in_sizes = x, []
        for axis, m in enumerate(maps, start=2):
            in_sizes.append(y.shape[axis])
            if m is None:
                continue
            if len(m) == 2:
                y = _taps_sum(y, m, axis, x.dtype)
                continue
            i0, i1, l0, l1 = m
            if l0 is None:
                y = y.take(xp.asarray(i0), axis=axis)
                continue
            tail = (1,) * (x.ndim - axis - 1)
            l0 = xp.asarray(l0.astype(x.dtype).reshape((-1,) + tail))
            l1 = xp.asarray(l1.astype(x.dtype).reshape((-1,) + tail))
            y = y.take(xp.asarray(i0), axis=axis) * l0 + y.take(xp.asarray(i1), axis=axis) * l1
        return y, (maps, in_sizes, x.dtype)

    # dL/dx = per axis in reverse: scatter-add g * l0 to i0 and g * l1 to i1
    # (a tap table: g * weight[:, j] to index[:, j] for every tap j)
    @staticmethod
    def backward(ctx, g):
        maps, in_sizes, dtype = ctx
        for axis in reversed(range(2, 2 + len(maps))):
            m, n = maps[axis - 2], in_sizes[axis - 2]
            if m is None:
                continue
            if len(m) == 2:
                xp, (index, weight) = get_array_module(g), m
                tail = (1,) * (g.ndim - axis - 1)
                w = xp.asarray(weight.astype(dtype)).reshape(weight.shape[:1] + (-1,) + tail)
                g = sum(_sum_runs(g * w[:, j], index[:, j], n, axis) for j in range(index.shape[1]))
                continue
            i0, i1, l0, l1 = m
            if l0 is None:
                g = _sum_runs(g, i0, n, axis)
                continue
            xp = get_array_module(g)
            tail = (1,) * (g.ndim - axis - 1)
            l0 = xp.asarray(l0.astype(dtype).reshape((-1,) + tail))
            l1 = xp.asarray(l1.astype(dtype).reshape((-1,) + tail))
            g = _sum_runs(g * l0, i0, n, axis) + _sum_runs(g * l1, i1, n, axis)
        return (g,)


def _taps_sum(y, taps, axis: int, dtype):
    """``sum_j y[index[:, j]] * weight[:, j]`` along ``axis``."""
    xp, (index, weight) = get_array_module(y), taps
    tail = (1,) * (y.ndim - axis - 1)
    w = xp.asarray(weight.astype(dtype)).reshape(weight.shape[:1] + (-1,) + tail)
    out = 0
    for j in range(index.shape[1]):
        out = out + y.take(xp.asarray(index[:, j]), axis=axis) * w[:, j]
    return out


def _axis_map(mode: str, n_in: int, n_out: int, scale, align_corners, dtype):
    """PyTorch's CPU index/weight rule for one axis: nearest indices in float32 arithmetic,
    linear weights in the input's precision (float32 or float64), as its kernels."""
    if mode == "nearest" and n_in == n_out:  # PyTorch's legacy special cases
        return None
    if mode == "nearest" and n_out == 2 * n_in:
        return np.arange(n_out) // 2, None, None, None
    ft = np.float32 if mode.startswith("nearest") or dtype != np.float64 else np.float64
    dst = np.arange(n_out, dtype=ft)
    ratio = ft(1.0 / scale) if scale else ft(n_in) / ft(n_out)
    if mode in ("nearest", "nearest-exact"):
        if mode == "nearest":
            src = np.floor(dst * ratio)
        else:
            src = np.floor(np.maximum(ratio * (dst + ft(0.5)) - ft(0.5), 0) + ft(0.5))
        return np.minimum(src.astype(np.int64), n_in - 1), None, None, None
    if n_in == n_out:
        return None
    if align_corners:
        ratio = ft(n_in - 1) / ft(n_out - 1) if n_out > 1 else ft(0)
        real = ratio * dst
    else:
        real = np.maximum(ratio * (dst + ft(0.5)) - ft(0.5), ft(0))
    i0 = np.minimum(np.floor(real).astype(np.int64), n_in - 1)
    l1 = np.clip(real - i0, 0, 1).astype(ft)
    i1 = i0 + (i0 < n_in - 1)
    return i0, i1, (ft(1) - l1), l1


_LINEAR = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}


def _kernel_map(mode: str, n_in: int, n_out: int, scale, align_corners, antialias):
    """PyTorch's bicubic (Keys, a = -0.75, edge values repeated) and antialiased
    bilinear/bicubic (the kernel widened by in/out when downsampling, taps outside dropped,
    bicubic with a = -0.5 as PIL) rules for one axis, as a tap table."""
    if align_corners:
        ratio = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        x = ratio * np.arange(n_out, dtype=np.float64)
    else:
        ratio = 1.0 / scale if scale else n_in / n_out
        x = ratio * (np.arange(n_out, dtype=np.float64) + 0.5) - 0.5
    cubic = mode == "bicubic"
    if not antialias:
        return kernel_taps(x, n_in, cubic_kernel(-0.75), 2.0)
    kernel, support = (cubic_kernel(-0.5), 2.0) if cubic else (triangle_kernel, 1.0)
    return kernel_taps(x, n_in, kernel, support, min(1.0, 1.0 / ratio), outside="exclude")


def interpolate(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims: ``mode`` 'nearest' (PyTorch's ``floor(dst * scale)`` rule),
    'nearest-exact', 'linear'/'bilinear'/'trilinear' for 3-/4-/5-D input, or 'bicubic' for
    4-D input (Keys' kernel, ``a = -0.75``). ``antialias=True`` (bilinear and bicubic, not
    with ``align_corners``) widens the kernel by the downsampling factor, as PyTorch and PIL.

    Shape: ``(N, C, *spatial)`` with 1 to 3 spatial dims; output ``(N, C, *size)`` where
    ``size`` defaults to ``floor(spatial * scale_factor)``.
    """
    nsp = input.ndim - 2
    if nsp not in (1, 2, 3):
        raise ValueError(f"interpolate: expected a 3-D, 4-D or 5-D input, got shape {input.shape}")
    if mode not in ("nearest", "nearest-exact", *_LINEAR):
        raise ValueError(f"interpolate: unsupported mode {mode!r}")
    if mode in _LINEAR and _LINEAR[mode] != input.ndim:
        raise ValueError(
            f"interpolate: mode {mode!r} expects a {_LINEAR[mode]}-D input, got shape {input.shape}"
        )
    if align_corners is not None and mode not in _LINEAR:
        raise ValueError("interpolate: align_corners can only be set with the linear modes")
    if antialias and (mode not in ("bilinear", "bicubic") or align_corners):
        raise ValueError(
            f"interpolate: antialias=True needs mode 'bilinear' or 'bicubic' without "
            f"align_corners, got mode {mode!r}, align_corners={align_corners}"
        )
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    in_sizes = tuple(input.shape[2:])
    scales = [None] * nsp
    if size is not None:
        out = (size,) * nsp if isinstance(size, int) else tuple(int(s) for s in size)
    else:
        sf = (scale_factor,) * nsp if isinstance(scale_factor, (int, float)) else scale_factor
        sf = tuple(float(s) for s in sf)
        out = tuple(math.floor(n * s) for n, s in zip(in_sizes, sf))
        if not recompute_scale_factor:
            scales = list(sf)
    if len(out) != nsp or any(o <= 0 for o in out):
        raise ValueError(
            f"interpolate: output size {out} invalid for input spatial size {in_sizes}"
        )
    if mode == "bicubic" or antialias:
        maps = tuple(
            _kernel_map(mode, n, o, s, bool(align_corners), antialias)
            for n, o, s in zip(in_sizes, out, scales)
        )
    else:
        maps = tuple(
            _axis_map(mode, n, o, s, bool(align_corners), input.dtype)
            for n, o, s in zip(in_sizes, out, scales)
        )
    return Interpolate.apply(
        input, maps=maps, mode=mode, align_corners=bool(align_corners), antialias=antialias
    )

"""Receptive fields: analytic (propagated through the real graph of ops) and empirical (read off
an input gradient).

Per spatial axis a feature map carries (size r, jump j, start s): unit i of the map is centred at
input coordinate ``s + i * j`` (pixel k spans [k, k + 1), so the input itself is r = 1, j = 1,
s = 0.5) and sees ``r`` input pixels. A window op with kernel k, stride t, padding p and dilation
d (effective kernel ``K = d (k - 1) + 1``) maps (r, j, s) to
``(r + (K - 1) j, j t, s + ((K - 1) / 2 - p) j)``. Branches that meet in an elementwise op (a
residual sum) take the union of their regions. Flattening the spatial axes makes every later
unit see the union over all positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import cnnlab
from cnnlab.autograd import Tensor, override_backward, trace
from cnnlab.kernels.windows import pair
from cnnlab.ops import activation as act_ops
from cnnlab.ops import pool as pool_ops


@dataclass(frozen=True)
class RF:
    """Receptive field along one axis: size, jump (stride in input pixels), start (centre of
    unit 0 in input coordinates)."""

    size: float
    jump: float
    start: float

    def lo(self, i: int = 0) -> float:
        return self.start + i * self.jump - self.size / 2

    def hi(self, i: int = 0) -> float:
        return self.start + i * self.jump + self.size / 2

    def window(self, i, k, stride, pad_lo, dilation=1) -> RF:
        span = dilation * (k - 1) + 1
        return RF(
            self.size + (span - 1) * self.jump,
            self.jump * stride,
            self.start + ((span - 1) / 2 - pad_lo) * self.jump,
        )


def union(fields: list) -> RF:
    """Smallest field covering every field in ``fields`` (for unit 0; jumps must agree)."""
    lo = min(f.lo() for f in fields)
    hi = max(f.hi() for f in fields)
    return RF(hi - lo, fields[0].jump, (lo + hi) / 2)


def _pads(padding, k, d):
    """Per-axis (low) padding from an op's padding argument."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0)
        return tuple((di * (ki - 1)) // 2 for ki, di in zip(k, d))  # 'same'
    if isinstance(padding, (tuple, list)) and len(padding) == 4:  # conv: (top, bottom, left, right)
        return (padding[0], padding[2])
    return pair(padding)


def _spatial(t):
    return t.ndim == 4


class Propagator:
    """Tracer callback computing the receptive field of every tensor a forward pass makes."""

    def __init__(self, x: Tensor) -> None:
        self.fields = {id(x): (RF(1, 1, 0.5), RF(1, 1, 0.5))}
        self.keep = [x]  # keep tensors alive so ids stay unique

    def get(self, t):
        return self.fields.get(id(t)) if isinstance(t, Tensor) else None

    def __call__(self, fn, inputs, kwargs, out) -> None:
        parents = [f for f in (self.get(t) for t in inputs) if f is not None]
        if not parents:
            return
        self.keep.append(out)
        rf = self._rule(fn.__name__, inputs, kwargs, out, parents)
        if rf is not None:
            self.fields[id(out)] = rf

    def _rule(self, name, inputs, kw, out, parents):
        x = inputs[0]
        first = self.get(x)
        if name in ("Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d") and first:
            if name.startswith("Conv"):
                k = inputs[1].shape[2:]
            else:
                k = pair(kw["kernel_size"])
            s = pair(kw.get("stride") or k)
            d = pair(kw.get("dilation", 1))
            p = _pads(kw.get("padding", 0), k, d)
            if name == "ConvTranspose2d":  # output unit o gathers inputs (o + p - d kk) / s
                return tuple(
                    RF(
                        f.size + (math.ceil((di * (ki - 1) + 1) / si) - 1) * f.jump,
                        f.jump / si,
                        f.start + (pi - (di * (ki - 1)) / 2) * f.jump / si,
                    )
                    for f, ki, si, pi, di in zip(first, k, s, p, d)
                )
            return tuple(
                f.window(0, ki, si, pi, di) for f, ki, si, pi, di in zip(first, k, s, p, d)
            )
        if name in ("AdaptiveAvgPool2d", "AdaptiveMaxPool2d") and first:
            fields = []
            for f, n, o in zip(first, x.shape[2:], out.shape[2:]):
                k = math.ceil(n / o)  # the largest bin
                fields.append(f.window(0, k, n / o, 0) if n % o else f.window(0, n // o, n // o, 0))
            return tuple(fields)
        if name == "GetItem" and first and _spatial(x):
            idx = kw["index"] if isinstance(kw["index"], tuple) else (kw["index"],)
            if len(idx) == 4 and all(isinstance(i, slice) for i in idx):
                return tuple(
                    RF(f.size, f.jump * (sl.step or 1), f.start + (sl.start or 0) * f.jump)
                    for f, sl in zip(first, idx[2:])
                )
            return None
        if name == "Pad" and first and _spatial(x):
            pad = tuple(kw["pad"]) + (0,) * (4 - len(kw["pad"]))
            return (
                RF(first[0].size, first[0].jump, first[0].start - pad[2] * first[0].jump),
                RF(first[1].size, first[1].jump, first[1].start - pad[0] * first[1].jump),
            )
        if name == "Permute" and first and _spatial(x) and tuple(kw["dims"])[2:] != (2, 3):
            # the spatial axes move (an RNN reading rows): later ops mix every position
            return tuple(
                RF(f.size + (n - 1) * f.jump, 0.0, f.start + (n - 1) * f.jump / 2)
                for f, n in zip(first, x.shape[2:])
            )
        if (
            name in ("Reshape", "Linear", "MatMul")
            and first
            and _spatial(x)
            and not (_spatial(out) and out.shape[2:] == x.shape[2:])
        ):
            # spatial axes merged: every later unit sees the union over all positions
            return tuple(
                RF(f.size + (n - 1) * f.jump, 0.0, f.start + (n - 1) * f.jump / 2)
                for f, n in zip(first, x.shape[2:])
            )
        if len(parents) > 1:
            return tuple(union([p[a] for p in parents]) for a in range(2))
        return parents[0]


def analytic_fields(model, input_shape, batch_size: int = 1) -> tuple[dict, Tensor, Tensor]:
    """Run ``model`` once on zeros of ``input_shape`` (C, H, W) and return
    ``({id(tensor): (RF_h, RF_w)}, input, output)``."""
    x = cnnlab.zeros(batch_size, *input_shape)
    prop = Propagator(x)
    with cnnlab.no_grad(), trace(prop):
        out = model(x)
    return prop.fields, x, out


def _region(f: RF, i: int, n: int) -> tuple[int, int]:
    """Input pixels (first, last) that unit ``i`` sees along an axis of ``n`` pixels."""
    lo, hi = f.lo(i), f.hi(i)
    return max(int(math.floor(lo + 1e-9)), 0), min(int(math.ceil(hi - 1e-9)) - 1, n - 1)


def analytic_receptive_field(model, input_shape, layer=None, unit=None) -> dict:
    """The analytic receptive field of one unit, in the format of
    :func:`empirical_receptive_field` (clipped to the input), plus the unclipped ``field``."""
    captured = {}
    module = dict(model.named_modules())[layer] if isinstance(layer, str) else layer
    handle = None
    if module is not None:
        handle = module.register_forward_hook(lambda m, i, o: captured.setdefault("out", o))
    was_training = model.training
    model.eval()
    try:
        fields, x, out = analytic_fields(model, input_shape)
    finally:
        model.train(was_training)
        if handle is not None:
            handle.remove()
    target = captured.get("out", out)
    rf = fields[id(target)]
    if target.ndim == 4:
        _, r, q = unit or (0, target.shape[2] // 2, target.shape[3] // 2)
    else:
        r = q = 0
    rows, cols = _region(rf[0], r, input_shape[1]), _region(rf[1], q, input_shape[2])
    return {
        "rows": rows,
        "cols": cols,
        "size": (rows[1] - rows[0] + 1, cols[1] - cols[0] + 1),
        "field": rf,
    }


# -- empirical: gradients of the linearised network ------------------------------------------
def _pass_all(ctx, g):  # ReLU-like ops pass every gradient: no unit is switched off
    return (g,)


class _SpreadMax:
    """Replacement backward for max pooling while measuring: the gradient goes to every element
    of each window (the adjoint of an all-ones window sum), not only to the maximum."""

    def __init__(self) -> None:
        self.calls = {}

    def record(self, fn, inputs, kwargs, out) -> None:
        if fn is pool_ops.MaxPool2d and out._node is not None:
            self.calls[id(out._node.ctx)] = (inputs[0].shape, inputs[0].dtype, kwargs)

    def __call__(self, ctx, g):
        import cnnlab.nn.functional as F

        shape, dtype, kw = self.calls[id(ctx)]
        z = Tensor(np.zeros(shape, dtype), requires_grad=True)
        k = pair(kw["kernel_size"])
        ones = Tensor(np.ones((shape[1], 1, *k), dtype))
        y = F.conv2d(
            z,
            ones,
            stride=kw.get("stride") or k,
            padding=kw.get("padding", 0),
            dilation=kw.get("dilation", 1),
            groups=shape[1],
        )
        if y.shape != g.shape:  # ceil_mode windows hanging off the edge: pad z on the far side
            extra = [
                (go - yo) * s
                for go, yo, s in zip(g.shape[2:], y.shape[2:], pair(kw.get("stride") or k))
            ]
            y = F.conv2d(
                cnnlab.pad(z, (0, extra[1], 0, extra[0])),
                ones,
                stride=kw.get("stride") or k,
                padding=kw.get("padding", 0),
                dilation=kw.get("dilation", 1),
                groups=shape[1],
            )[:, :, : g.shape[2], : g.shape[3]]
        (gz,) = cnnlab.grad((y * Tensor(g)).sum(), [z])
        gz = None if gz is None else gz.array  # the raw array
        return (gz,)


def empirical_receptive_field(model, input_shape, layer=None, unit=None) -> dict:
    """Measure the receptive field of one unit from the non-zero region of the input gradient.

    ``layer``: a sub-module (or its name) whose output holds the unit; default the model's
    output. ``unit``: (channel, row, col) on that map; default channel 0 at the centre. ReLUs
    pass every gradient and max pooling spreads it over its window while measuring, so no unit
    happens to be switched off; the result is the region that *can* influence the unit.
    Returns ``{'rows': (first, last), 'cols': (first, last), 'size': (h, w), 'grad': map}``.
    """
    was_training = model.training
    model.eval()
    captured = {}
    module = dict(model.named_modules())[layer] if isinstance(layer, str) else layer
    handle = None
    if module is not None:
        handle = module.register_forward_hook(lambda m, i, o: captured.setdefault("out", o))
    x = Tensor(np.random.default_rng(0).standard_normal((1, *input_shape)), requires_grad=True)
    spread = _SpreadMax()
    model.double()
    try:
        with (
            override_backward(act_ops.ReLU, _pass_all),
            override_backward(act_ops.Hardtanh, _pass_all),
            override_backward(act_ops.LeakyReLU, _pass_all),
            override_backward(pool_ops.MaxPool2d, spread),
            trace(spread.record),
        ):
            out = model(x)
        target = captured.get("out", out)
        if target.ndim == 4:
            c, r, q = unit or (0, target.shape[2] // 2, target.shape[3] // 2)
            score = target[0, c, r, q]
        else:
            score = target[0, (unit or (0,))[0]]
        with (
            override_backward(act_ops.ReLU, _pass_all),
            override_backward(act_ops.Hardtanh, _pass_all),
            override_backward(act_ops.LeakyReLU, _pass_all),
            override_backward(pool_ops.MaxPool2d, spread),
        ):
            (g,) = cnnlab.grad(score, [x])
            g = None if g is None else g.array  # the raw array
    finally:
        model.float()
        model.train(was_training)
        if handle is not None:
            handle.remove()
    mag = np.zeros(input_shape[1:]) if g is None else np.abs(g[0]).sum(0)
    rows = np.flatnonzero(mag.sum(1) > 0)
    cols = np.flatnonzero(mag.sum(0) > 0)
    if rows.size == 0:
        return {"rows": None, "cols": None, "size": (0, 0), "grad": mag}
    return {
        "rows": (int(rows[0]), int(rows[-1])),
        "cols": (int(cols[0]), int(cols[-1])),
        "size": (int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)),
        "grad": mag,
    }


receptive_field = empirical_receptive_field

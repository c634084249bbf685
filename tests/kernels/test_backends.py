"""Every function of every backend against the reference kernel and against PyTorch.

The configurations are the op tests' grids (tests/ops/test_conv.py, test_pool.py,
test_norm.py), turned into the kernels' arguments. The reference and numpy backends run
float64 (tight tolerances); oneDNN, where it loads, runs float32.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab import kernels
from cnnlab.kernels import reference
from cnnlab.ops.conv import _conv_args
from tests.helpers import requires_torch, seeded, torch
from tests.ops.test_conv import CONV2D, CONV_T
from tests.ops.test_norm import SHAPES as NORM_SHAPES
from tests.ops.test_pool import AVG_PARITY, MAX_GRID, _distinct


def _pair(v):
    return tuple(v) if isinstance(v, tuple) else (v, v)


def _fits(ks, p):  # the op rejects padding over half the kernel
    return p <= min(_pair(ks)) // 2


MAX_CASES = [c for c in MAX_GRID[::2] if _fits(c[1], c[3])]
AVG_CASES = [c for c in AVG_PARITY[::3] if _fits(c[1], c[3])]
BACKENDS = ["reference", "numpy"]
if kernels._onednn() is not None:  # only where the oneDNN binding is installed and loads
    BACKENDS.append("onednn")


def _backend(name):
    return kernels._backend(name)


def _dtype(name):
    return np.float32 if name == "onednn" else np.float64


def _tol(name):
    return {"rtol": 1e-4, "atol": 1e-4} if name == "onednn" else {"rtol": 1e-10, "atol": 1e-10}


def _close(a, b, name, what):
    np.testing.assert_allclose(a, b, **_tol(name), err_msg=f"{name}: {what}")


def _torch_close(a, t, name, what):
    tol = {"rtol": 1e-4, "atol": 1e-4} if name == "onednn" else {"rtol": 1e-9, "atol": 1e-9}
    np.testing.assert_allclose(a, t.detach().numpy(), **tol, err_msg=f"{name}: {what} vs torch")


# --------------------------------------------------------------------------------- conv2d
def _conv_case(xs, ws, kw, bias, dtype):
    rng = seeded(0)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype) if bias else None
    groups = kw.get("groups", 1)
    stride, pads, dilation = _conv_args(
        "conv2d",
        x,
        w,
        b,
        kw.get("stride", 1),
        kw.get("padding", 0),
        kw.get("dilation", 1),
        groups,
    )
    geo = {"stride": stride, "padding": pads[0] + pads[1], "dilation": dilation, "groups": groups}
    return x, w, b, geo


def _torch_conv(x, w, b, geo):
    """PyTorch's conv2d of the explicitly padded input, and its three gradients of sum(c*y)."""
    t, bo, l, r = geo["padding"]
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tb = None if b is None else torch.tensor(b, requires_grad=True)
    xpad = torch.nn.functional.pad(tx, (l, r, t, bo))
    y = torch.nn.functional.conv2d(
        xpad, tw, tb, stride=geo["stride"], dilation=geo["dilation"], groups=geo["groups"]
    )
    c = torch.tensor(seeded(1).standard_normal(tuple(y.shape)).astype(x.dtype))
    (y * c).sum().backward()
    return y, c.numpy(), tx.grad, tw.grad, None if tb is None else tb.grad


@requires_torch
@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("xs,ws,kw,bias", CONV2D)
def test_conv2d_functions(name, xs, ws, kw, bias):
    k, ref = _backend(name), _backend("reference")
    x, w, b, geo = _conv_case(xs, ws, kw, bias, _dtype(name))
    ty, c, tgx, tgw, tgb = _torch_conv(x, w, b, geo)
    y = k.conv2d_forward(x, w, b, **geo)
    gx = k.conv2d_backward_data(c, w, x_shape=x.shape, **geo)
    gw, gb = k.conv2d_backward_weights(x, c, w_shape=w.shape, bias=b is not None, **geo)
    _torch_close(y, ty, name, "forward")
    _torch_close(gx, tgx, name, "backward data")
    _torch_close(gw, tgw, name, "backward weights")
    assert (gb is None) == (b is None)
    if b is not None:
        _torch_close(gb, tgb, name, "bias gradient")
    if name != "reference":
        _close(y, ref.conv2d_forward(x, w, b, **geo), name, "forward vs reference")
        _close(gx, ref.conv2d_backward_data(c, w, x_shape=x.shape, **geo), name, "data")
        rgw, _ = ref.conv2d_backward_weights(x, c, w_shape=w.shape, bias=False, **geo)
        _close(gw, rgw, name, "weights vs reference")


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("xs,ws,kw,bias", CONV_T)
def test_conv_transpose_geometry_runs_on_each_backend(name, xs, ws, kw, bias):
    # conv_transpose2d's forward is backward_data on an asymmetric, possibly cropped
    # padding: every backend gives the reference's answer on those geometries
    import cnnlab
    from cnnlab.ops.conv import conv_transpose2d

    rng = seeded(2)
    x = rng.standard_normal(xs).astype(_dtype(name))
    w = rng.standard_normal(ws).astype(_dtype(name))
    with cnnlab.set_kernels("reference"):
        ref = conv_transpose2d(cnnlab.tensor(x), cnnlab.tensor(w), **kw).numpy()
    with cnnlab.set_kernels(name):
        out = conv_transpose2d(cnnlab.tensor(x), cnnlab.tensor(w), **kw).numpy()
    _close(out, ref, name, "conv_transpose2d")


# ------------------------------------------------------------------------------- pooling
def _pool_pads(p):
    ph, pw = (p, p) if isinstance(p, int) else p
    return (ph, ph, pw, pw)


@requires_torch
@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("shape,ks,s,p,d,ceil", MAX_CASES)
def test_max_pool2d_functions(name, shape, ks, s, p, d, ceil):
    k, ref = _backend(name), _backend("reference")
    kernel = _pair(ks)
    geo = {
        "kernel": kernel,
        "stride": kernel if s is None else _pair(s),
        "padding": _pool_pads(p),
        "dilation": _pair(d),
        "ceil_mode": ceil,
    }
    x = _distinct(shape, dtype=_dtype(name))
    tx = torch.tensor(x, requires_grad=True)
    ty, tidx = torch.nn.functional.max_pool2d(tx, ks, s, p, d, ceil_mode=ceil, return_indices=True)
    c = seeded(1).standard_normal(tuple(ty.shape)).astype(x.dtype)
    (ty * torch.tensor(c)).sum().backward()
    y, state = k.max_pool2d_forward(x, **geo)
    _torch_close(y, ty, name, "forward")
    _torch_close(k.max_pool2d_inference(x, **geo), ty, name, "inference")
    _torch_close(k.max_pool2d_backward(c, state), tx.grad, name, "backward")
    if name != "onednn":  # the indices are the NumPy backends' (return_indices goes there)
        np.testing.assert_array_equal(k.module.max_pool2d_indices(state), tidx.numpy())
    if name != "reference":
        ry, rstate = ref.max_pool2d_forward(x, **geo)
        _close(y, ry, name, "forward vs reference")
        _close(k.max_pool2d_backward(c, state), ref.max_pool2d_backward(c, rstate), name, "bw")


@requires_torch
@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("shape,ks,s,p,ceil,inc,div", AVG_CASES)
def test_avg_pool2d_functions(name, shape, ks, s, p, ceil, inc, div):
    k, ref = _backend(name), _backend("reference")
    kernel = _pair(ks)
    if div is not None and name == "onednn":
        pytest.skip("divisor_override runs on the NumPy kernels only")
    geo = {
        "kernel": kernel,
        "stride": kernel if s is None else _pair(s),
        "padding": _pool_pads(p),
        "ceil_mode": ceil,
        "count_include_pad": inc,
    }
    if div is not None:
        geo["divisor_override"] = div
    x = seeded(0).standard_normal(shape).astype(_dtype(name))
    if name == "onednn" and not k.module.supports("avg_pool2d_forward", x, **geo):
        # ceil_mode's extra windows with count_include_pad: oneDNN counts the padding it
        # grows, PyTorch does not; pick() sends these to the NumPy kernels (test_dispatch)
        pytest.skip("oneDNN turns this configuration down")
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.avg_pool2d(tx, ks, s, p, ceil, inc, div)
    c = seeded(1).standard_normal(tuple(ty.shape)).astype(x.dtype)
    (ty * torch.tensor(c)).sum().backward()
    y = k.avg_pool2d_forward(x, **geo)
    gx = k.avg_pool2d_backward(c, x_shape=x.shape, **geo)
    _torch_close(y, ty, name, "forward")
    _torch_close(gx, tx.grad, name, "backward")
    if name != "reference":
        _close(y, ref.avg_pool2d_forward(x, **geo), name, "forward vs reference")
        _close(gx, ref.avg_pool2d_backward(c, x_shape=x.shape, **geo), name, "bw vs reference")


# ---------------------------------------------------------------------------- batch norm
def _bn_case(shape, dtype, offset=1.0):
    rng = seeded(3)
    c = shape[1]
    x = (rng.standard_normal(shape) * 2 + offset).astype(dtype)
    x4 = x.reshape(shape[0], c, -1, 1)
    w, b = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
    mean, var = rng.standard_normal(c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype)
    g = rng.standard_normal(x4.shape).astype(dtype)
    return x4, w, b, mean, var, g


@requires_torch
@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("shape", [*NORM_SHAPES, (4, 5, 6, 6)])
@pytest.mark.parametrize("offset", [1.0, 40.0])  # 40: the numpy kernel's two-pass path
def test_batch_norm_functions(name, shape, offset):
    k, ref = _backend(name), _backend("reference")
    x, w, b, mean, var, g = _bn_case(shape, _dtype(name), offset)
    eps = 1e-5
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.batch_norm(tx, None, None, tw, tb, training=True, eps=eps)
    ty.backward(torch.tensor(g))
    y, bm, bv = k.batch_norm_train_forward(x, w, b, eps=eps)
    _torch_close(y, ty, name, "training forward")
    _torch_close(bm, tx.mean(dim=(0, 2, 3)), name, "batch mean")
    _torch_close(bv, tx.var(dim=(0, 2, 3), unbiased=False), name, "biased batch variance")
    gx, gw, gb = k.batch_norm_backward(g, x, w, bm, bv, eps=eps)
    for ours, theirs, what in ((gx, tx.grad, "dx"), (gw, tw.grad, "dweight"), (gb, tb.grad, "db")):
        _torch_close(ours, theirs, name, f"training backward {what}")
    ey = torch.nn.functional.batch_norm(
        torch.tensor(x), torch.tensor(mean), torch.tensor(var), tw, tb, eps=eps
    )
    _torch_close(k.batch_norm_inference(x, w, b, mean, var, eps=eps), ey, name, "inference")
    if name != "reference":
        for ours, theirs in zip(
            (y, bm, bv, gx, gw, gb),
            (
                *ref.batch_norm_train_forward(x, w, b, eps=eps),
                *ref.batch_norm_backward(g, x, w, bm, bv, eps=eps),
            ),
        ):
            np.testing.assert_allclose(
                ours,
                theirs,
                rtol=1e-4 if name == "onednn" else 1e-9,
                atol=1e-4 if name == "onednn" else 1e-9,
            )


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("shape", [(3, 4, 5, 2), (16, 40, 6, 6)])
def test_batch_norm_inference_backward(name, shape):
    k = _backend(name)
    x, w, b, mean, var, g = _bn_case(shape, _dtype(name))
    eps = 1e-5
    gx, gw, gb = k.batch_norm_inference_backward(g, x, w, mean, var, eps=eps)
    x, w, mean, var, g = (a.astype(np.float64) for a in (x, w, mean, var, g))
    invstd = 1 / np.sqrt(var + eps)
    xhat = (x - mean.reshape(1, -1, 1, 1)) * invstd.reshape(1, -1, 1, 1)
    tol = {"rtol": 1e-4, "atol": 1e-3} if name == "onednn" else {"rtol": 1e-12}
    np.testing.assert_allclose(gx, g * (w * invstd).reshape(1, -1, 1, 1), **tol)
    np.testing.assert_allclose(gw, (g * xhat).sum(axis=(0, 2, 3)), **tol)
    np.testing.assert_allclose(gb, g.sum(axis=(0, 2, 3)), **tol)


# ---------------------------------------------------------------------------------- relu
@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("shape", [(7,), (3, 5), (4, 3, 6, 5)])
def test_relu_functions(name, shape):
    k = _backend(name)
    rng = seeded(4)
    x = rng.standard_normal(shape).astype(_dtype(name))
    x.flat[0] = 0.0  # relu'(0) = 0
    g = rng.standard_normal(shape).astype(x.dtype)
    y = k.relu_forward(x)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    np.testing.assert_array_equal(k.relu_backward(g, y), g * (x > 0))
    np.testing.assert_array_equal(y, reference.relu_forward(x))


@requires_torch
@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("bounds", [(0.0, 6.0), (-1.0, 1.0)])
def test_hardtanh_functions(name, bounds):
    k = _backend(name)
    lo, hi = bounds
    x = (seeded(5).standard_normal((4, 3, 6, 5)) * 4).astype(_dtype(name))
    x.flat[:2] = bounds  # at the bounds: no gradient (PyTorch)
    g = seeded(6).standard_normal(x.shape).astype(x.dtype)
    y = k.hardtanh_forward(x, min_val=lo, max_val=hi)
    gx = k.hardtanh_backward(g, y, min_val=lo, max_val=hi)
    t = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.hardtanh(t, lo, hi)
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(y, ty.detach().numpy())
    np.testing.assert_array_equal(gx, t.grad.numpy())
    np.testing.assert_array_equal(y, reference.hardtanh_forward(x, min_val=lo, max_val=hi))


def test_every_backend_has_the_function_set():
    for name in [*BACKENDS, "cupy"]:
        module = _backend(name).module
        for fn in kernels.FUNCTIONS:
            assert callable(getattr(module, fn, None)), f"{name} lacks {fn}"

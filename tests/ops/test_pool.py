"""Pooling ops: loop references, float64 gradcheck and PyTorch parity (values, indices, grads)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab.ops.adaptive_pool import adaptive_avg_pool2d, adaptive_max_pool2d
from cnnlab.ops.pool import avg_pool2d, max_pool2d, max_unpool2d
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity


def _pair(v):
    return tuple(v) if isinstance(v, tuple) else (v, v)


def _distinct(shape, seed=0, dtype=np.float32):
    """Well-separated values (a scaled permutation), so no window has a near-tie."""
    n = math.prod(shape)
    return (
        (np.random.default_rng(seed).permutation(n) * 0.1 - n * 0.05).reshape(shape).astype(dtype)
    )


def _out_len(n, k, s, p, d, ceil):
    num = n + 2 * p - d * (k - 1) - 1
    o = (-(-num // s) if ceil else num // s) + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


# ----------------------------------------------------------------------------- loop references
def max_pool_ref(x, k, s, p, d, ceil):
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(_pair, (k, s if s is not None else k, p, d))
    n, c, h, w = x.shape
    oh, ow = _out_len(h, kh, sh, ph, dh, ceil), _out_len(w, kw, sw, pw, dw, ceil)
    out = np.empty((n, c, oh, ow), x.dtype)
    idx = np.empty((n, c, oh, ow), np.int64)
    for b, ch, i, j in itertools.product(range(n), range(c), range(oh), range(ow)):
        best, arg = -np.inf, -1
        for u, v in itertools.product(range(kh), range(kw)):  # row-major: first max wins
            r, q = i * sh - ph + u * dh, j * sw - pw + v * dw
            if 0 <= r < h and 0 <= q < w and x[b, ch, r, q] > best:
                best, arg = x[b, ch, r, q], r * w + q
        out[b, ch, i, j], idx[b, ch, i, j] = best, arg
    return out, idx


def avg_pool_ref(x, k, s, p, ceil, include_pad, divisor):
    (kh, kw), (sh, sw), (ph, pw) = map(_pair, (k, s if s is not None else k, p))
    n, c, h, w = x.shape
    oh, ow = _out_len(h, kh, sh, ph, 1, ceil), _out_len(w, kw, sw, pw, 1, ceil)
    out = np.empty((n, c, oh, ow), x.dtype)
    for i, j in itertools.product(range(oh), range(ow)):
        h0, w0 = i * sh - ph, j * sw - pw
        h1, w1 = min(h0 + kh, h + ph), min(w0 + kw, w + pw)
        size = (h1 - h0) * (w1 - w0)
        h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, h), min(w1, w)
        div = divisor or (size if include_pad else (h1 - h0) * (w1 - w0))
        out[:, :, i, j] = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3)) / div
    return out


# ----------------------------------------------------------------------------- configurations
# each configuration runs on one of two shapes, alternately: a batch and an odd batch-1 one
SHAPES = [(2, 3, 7, 8), (1, 2, 9, 7)]
MAX_GRID = [
    (SHAPES[i % 2], *cfg)
    for i, cfg in enumerate(
        itertools.product([2, 3, (2, 3)], [1, 2, None], [0, 1], [1, 2], [False, True])
    )
]
SMALL_MAX = [  # (kernel, stride, padding, dilation, ceil_mode) for the loop and gradcheck
    (2, None, 0, 1, False),
    (2, 2, 0, 1, True),
    (3, 2, 1, 1, False),
    (3, 2, 1, 1, True),
    ((2, 3), 1, 1, 2, False),
    (3, 1, 0, 2, True),
    (2, (1, 2), (1, 0), 1, True),
]
AVG_GRID = list(
    itertools.product([2, 3, (2, 3)], [1, 2, None], [0, 1], [False, True], [True, False], [None, 5])
)
AVG_PARITY = [(SHAPES[i % 2], *cfg) for i, cfg in enumerate(AVG_GRID)]


# ----------------------------------------------------------------------------- max_pool2d
@pytest.mark.parametrize("shape", [(2, 3, 7, 8), (1, 1, 6, 6)])
@pytest.mark.parametrize("k,s,p,d,ceil", SMALL_MAX)
def test_max_pool2d_matches_loop(shape, k, s, p, d, ceil):
    x = _distinct(shape)
    out, idx = max_pool2d(cnnlab.tensor(x), k, s, p, d, ceil, return_indices=True)
    ref, ref_idx = max_pool_ref(x, k, s, p, d, ceil)
    np.testing.assert_array_equal(out.numpy(), ref)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    assert idx.dtype == np.int64


@pytest.mark.parametrize("k,s,p,d,ceil", SMALL_MAX)
def test_max_pool2d_gradcheck(k, s, p, d, ceil):
    x = _distinct((1, 2, 5, 6), dtype=np.float64)
    check_gradients(lambda t: max_pool2d(t, k, s, p, d, ceil), [x])


@requires_torch
@pytest.mark.parametrize("shape,k,s,p,d,ceil", MAX_GRID)
def test_max_pool2d_torch_parity(shape, k, s, p, d, ceil):
    x = _distinct(shape)
    torch_parity(
        lambda t: max_pool2d(t, k, s, p, d, ceil),
        lambda t: torch.nn.functional.max_pool2d(t, k, s, p, d, ceil),
        [x],
    )
    _, idx = max_pool2d(cnnlab.tensor(x), k, s, p, d, ceil, return_indices=True)
    _, ref = torch.nn.functional.max_pool2d(torch.tensor(x), k, s, p, d, ceil, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), ref.numpy())


@requires_torch
@pytest.mark.parametrize("k,s", [(2, 2), (3, 1), (3, 2), ((2, 3), (2, 1))])
def test_max_pool2d_ties_go_to_first_element(k, s):
    x = np.ones((1, 2, 6, 7), np.float32)
    torch_parity(
        lambda t: max_pool2d(t, k, s),
        lambda t: torch.nn.functional.max_pool2d(t, k, s),
        [x],
    )
    _, idx = max_pool2d(cnnlab.tensor(x), k, s, return_indices=True)
    _, ref = torch.nn.functional.max_pool2d(torch.tensor(x), k, s, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), ref.numpy())
    t = cnnlab.tensor(x, requires_grad=True)
    max_pool2d(t, 2, 2).sum().backward()
    expected = np.zeros_like(x)
    expected[:, :, 0:6:2, 0:6:2] = 1  # the top-left element of each 2x2 window
    np.testing.assert_array_equal(t.grad, expected)


def test_max_pool2d_3d_input_and_no_grad_path():
    x = _distinct((3, 7, 8))
    out, idx = max_pool2d(cnnlab.tensor(x), 3, 2, 1, return_indices=True)
    ref, ref_idx = max_pool_ref(x[None], 3, 2, 1, 1, False)
    assert out.shape == ref.shape[1:] and idx.shape == ref.shape[1:]
    np.testing.assert_array_equal(out.numpy(), ref[0])
    np.testing.assert_array_equal(idx.numpy(), ref_idx[0])
    with cnnlab.no_grad():
        np.testing.assert_array_equal(max_pool2d(cnnlab.tensor(x), 3, 2, 1).numpy(), ref[0])


# ----------------------------------------------------------------------------- max_unpool2d
@requires_torch
@pytest.mark.parametrize(
    "shape,k,s,p,size",
    [
        ((2, 3, 8, 8), 2, None, 0, None),
        ((1, 2, 7, 9), 2, 2, 0, (7, 9)),
        ((1, 2, 7, 7), 3, 2, 1, None),
        ((2, 2, 9, 8), (2, 3), (2, 3), 0, (2, 2, 9, 8)),
    ],
)
def test_max_unpool2d_round_trip_matches_torch(shape, k, s, p, size):
    x = _distinct(shape)
    out, idx = max_pool2d(cnnlab.tensor(x), k, s, p, return_indices=True)
    t_out, t_idx = torch.nn.functional.max_pool2d(torch.tensor(x), k, s, p, return_indices=True)
    up = max_unpool2d(out, idx, k, s, p, output_size=size)
    ref = torch.nn.functional.max_unpool2d(t_out, t_idx, k, s, p, output_size=size)
    np.testing.assert_array_equal(up.numpy(), ref.numpy())
    torch_parity(
        lambda a, i: max_unpool2d(a, i, k, s, p, output_size=size),
        lambda a, i: torch.nn.functional.max_unpool2d(a, i, k, s, p, output_size=size),
        [out.numpy(), idx.numpy()],
    )


def test_max_unpool2d_gradcheck_and_loop():
    x = _distinct((1, 2, 3, 3), dtype=np.float64)
    idx = np.array([[[[0, 3, 5], [12, 14, 17], [24, 27, 35]]] * 2], dtype=np.int64)
    up = max_unpool2d(cnnlab.tensor(x), cnnlab.tensor(idx), 2, output_size=(6, 6)).numpy()
    ref = np.zeros((1, 2, 36))
    for c in range(2):
        for v, i in zip(x[0, c].ravel(), idx[0, c].ravel()):
            ref[0, c, i] = v
    np.testing.assert_array_equal(up, ref.reshape(1, 2, 6, 6))
    check_gradients(lambda t, i: max_unpool2d(t, i, 2, output_size=(6, 6)), [x, idx])


# ----------------------------------------------------------------------------- avg_pool2d
@pytest.mark.parametrize("k,s,p,ceil,inc,div", AVG_GRID[::7])
def test_avg_pool2d_matches_loop(k, s, p, ceil, inc, div):
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 8))
    out = avg_pool2d(cnnlab.tensor(x), k, s, p, ceil, inc, div)
    np.testing.assert_allclose(out.numpy(), avg_pool_ref(x, k, s, p, ceil, inc, div), 1e-12)


@pytest.mark.parametrize("k,s,p,ceil,inc,div", AVG_GRID[::11])
def test_avg_pool2d_gradcheck(k, s, p, ceil, inc, div):
    x = np.random.default_rng(1).standard_normal((1, 2, 5, 6))
    check_gradients(lambda t: avg_pool2d(t, k, s, p, ceil, inc, div), [x])


@requires_torch
@pytest.mark.parametrize("shape,k,s,p,ceil,inc,div", AVG_PARITY)
def test_avg_pool2d_torch_parity(shape, k, s, p, ceil, inc, div):
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    torch_parity(
        lambda t: avg_pool2d(t, k, s, p, ceil, inc, div),
        lambda t: torch.nn.functional.avg_pool2d(t, k, s, p, ceil, inc, div),
        [x],
    )


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "call,match",
    [
        (lambda x: max_pool2d(x, 2, padding=2), "max_pool2d: pad should be at most half"),
        (lambda x: max_pool2d(x, (3, 2), padding=(1, 2)), "pad should be at most half"),
        (lambda x: avg_pool2d(x, 3, padding=2), "avg_pool2d: pad should be at most half"),
        (lambda x: max_pool2d(x[0, 0], 2), "expected a 3-D .* or 4-D"),
        (lambda x: avg_pool2d(x[None], 2), "expected a 3-D .* or 4-D"),
        (lambda x: adaptive_avg_pool2d(x[0, 0], 2), "adaptive_avg_pool2d: expected"),
        (lambda x: max_pool2d(x, 7), "too small"),
        (lambda x: max_pool2d(x, 0), "must be positive"),
        (lambda x: avg_pool2d(x, 2, divisor_override=0), "divisor_override"),
        (lambda x: adaptive_max_pool2d(x, (0, 2)), "must be positive"),
        (lambda x: max_unpool2d(x, x.astype(np.int64), 2, output_size=(15, 15)), "output_size"),
        (lambda x: max_unpool2d(x, cnnlab.tensor(np.full(x.shape, 100)), 2), "invalid max index"),
    ],
)
def test_errors(call, match):
    x = cnnlab.tensor(_distinct((1, 2, 5, 5)))
    with pytest.raises(ValueError, match=match):
        call(x)


POOL1D = [(3, None, 0, False), (3, 2, 1, False), (2, 3, 1, True)]


@requires_torch
@pytest.mark.parametrize("k,s,p,ceil", POOL1D)
def test_pool1d_composites_torch_parity_and_gradcheck(k, s, p, ceil):
    x = seeded(13).standard_normal((2, 3, 9)).astype(np.float32)
    torch_parity(
        lambda t: F.max_pool1d(t, k, s, p, ceil_mode=ceil),
        lambda t: torch.nn.functional.max_pool1d(t, k, s, p, ceil_mode=ceil),
        [x],
    )
    torch_parity(
        lambda t: F.avg_pool1d(t, k, s, p, ceil, count_include_pad=False),
        lambda t: torch.nn.functional.avg_pool1d(t, k, s, p, ceil, count_include_pad=False),
        [x],
    )
    check_gradients(lambda t: F.avg_pool1d(t, k, s, p, ceil), [x.astype(np.float64)])

import math

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity

# ------------------------------------------------------------------------ linear
LINEAR_CASES = [((4,), 3, True), ((5, 4), 3, True), ((5, 4), 2, False), ((2, 3, 4), 3, True)]


def _linear_arrays(x_shape, out, bias, seed=0, dtype=np.float64):
    rng = seeded(seed)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal((out, x_shape[-1]))]
    arrays.append(rng.standard_normal(out) if bias else None)
    return [None if a is None else a.astype(dtype) for a in arrays]


@pytest.mark.parametrize("x_shape,out,bias", LINEAR_CASES)
def test_linear_forward_matches_loop(x_shape, out, bias):
    x, w, b = _linear_arrays(x_shape, out, bias)
    ref = np.zeros(x_shape[:-1] + (out,))
    for idx in np.ndindex(*x_shape[:-1]):
        for o in range(out):
            ref[idx + (o,)] = sum(x[idx + (i,)] * w[o, i] for i in range(x_shape[-1]))
            ref[idx + (o,)] += b[o] if bias else 0.0
    y = F.linear(cnnlab.tensor(x), cnnlab.tensor(w), None if b is None else cnnlab.tensor(b))
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-12)


@pytest.mark.parametrize("x_shape,out,bias", LINEAR_CASES)
def test_linear_gradcheck(x_shape, out, bias):
    check_gradients(F.linear, _linear_arrays(x_shape, out, bias))


@requires_torch
@pytest.mark.parametrize("x_shape,out,bias", LINEAR_CASES)
def test_linear_torch_parity(x_shape, out, bias):
    arrays = _linear_arrays(x_shape, out, bias, dtype=np.float32)
    torch_parity(F.linear, torch.nn.functional.linear, arrays)


def test_linear_rejects_wrong_in_features():
    x, w = cnnlab.tensor(np.zeros((2, 5))), cnnlab.tensor(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"linear.*4.*\(2, 5\)"):
        F.linear(x, w)
    with pytest.raises(ValueError, match="linear.*bias"):
        F.linear(cnnlab.tensor(np.zeros((2, 4))), w, cnnlab.tensor(np.zeros(4)))


# ----------------------------------------------------------------------- dropout
def test_dropout_training_statistics_and_gradient():
    x = cnnlab.tensor(np.ones((200, 500), dtype=np.float32), requires_grad=True)
    y = F.dropout(x, p=0.3, training=True)
    kept = y.numpy() != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.7, rtol=1e-6)
    assert abs(y.numpy().mean() - 1) < 0.02  # inverted dropout keeps the expectation
    y.sum().backward()
    np.testing.assert_allclose(x.grad, y.numpy())  # gradient = mask / (1 - p)


def test_dropout_eval_and_p0_are_identity():
    x = cnnlab.tensor(seeded().standard_normal((3, 4)))
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0, training=True) is x


def test_dropout_p1_gives_zeros_and_zero_grad():
    x = cnnlab.tensor(np.ones((3, 4)), requires_grad=True)
    y = F.dropout(x, 1.0)
    np.testing.assert_array_equal(y.numpy(), 0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, 0)


def test_dropout_is_seeded_by_manual_seed():
    x = cnnlab.tensor(np.ones((10, 10)))
    cnnlab.manual_seed(123)
    a = F.dropout(x, 0.5).numpy()
    b = F.dropout(x, 0.5).numpy()
    cnnlab.manual_seed(123)
    np.testing.assert_array_equal(F.dropout(x, 0.5).numpy(), a)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_bad_probability(p):
    x = cnnlab.tensor(np.ones(3))
    with pytest.raises(ValueError, match="dropout.*between 0 and 1"):
        F.dropout(x, p)


def test_dropout2d_zeroes_whole_channels():
    x = cnnlab.tensor(np.ones((8, 16, 3, 3), dtype=np.float32))
    y = F.dropout2d(x, 0.5).numpy()
    per_channel = y.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0.3 < (per_channel[..., 0] == 0).mean() < 0.7
    with pytest.raises(ValueError, match="dropout2d"):
        F.dropout2d(cnnlab.tensor(np.ones((2, 3))))


# ------------------------------------------------------------------- interpolate
INTERP_CASES = [
    ("nearest", None, dict(size=(6, 9))),
    ("nearest", None, dict(size=(2, 3))),
    ("nearest", None, dict(size=(5, 7))),
    ("nearest", None, dict(scale_factor=2)),
    ("nearest", None, dict(scale_factor=1.5)),
    ("nearest", None, dict(scale_factor=(0.5, 2.7))),
    ("nearest-exact", None, dict(scale_factor=1.7)),
    ("bilinear", False, dict(size=(5, 7))),
    ("bilinear", False, dict(scale_factor=0.6)),
    ("bilinear", True, dict(size=(7, 2))),
    ("bilinear", True, dict(scale_factor=2)),
    ("bicubic", False, dict(size=(5, 7))),
    ("bicubic", False, dict(scale_factor=0.6)),
    ("bicubic", True, dict(scale_factor=2)),
    ("bilinear", False, dict(size=(2, 3), antialias=True)),
    ("bicubic", False, dict(size=(2, 3), antialias=True)),
    ("bilinear", False, dict(scale_factor=(1.5, 0.4), antialias=True)),
]
IN_SHAPE = (2, 2, 3, 4)


def _bilinear_ref(x, out_hw, align_corners):
    def axis_src(n_in, n_out):
        src = []
        for d in range(n_out):
            if align_corners:
                r = d * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
            else:
                r = max((d + 0.5) * n_in / n_out - 0.5, 0.0)
            i0 = min(int(math.floor(r)), n_in - 1)
            i1 = min(i0 + 1, n_in - 1)
            src.append((i0, i1, r - i0))
        return src

    n, c, h, w = x.shape
    out = np.zeros((n, c) + out_hw)
    for oy, (y0, y1, ly) in enumerate(axis_src(h, out_hw[0])):
        for ox, (x0, x1, lx) in enumerate(axis_src(w, out_hw[1])):
            top = x[:, :, y0, x0] * (1 - lx) + x[:, :, y0, x1] * lx
            bot = x[:, :, y1, x0] * (1 - lx) + x[:, :, y1, x1] * lx
            out[:, :, oy, ox] = top * (1 - ly) + bot * ly
    return out


@pytest.mark.parametrize("out_hw", [(6, 8), (5, 7), (2, 3), (3, 4)])
def test_interpolate_nearest_matches_floor_rule_loop(out_hw):
    x = seeded().standard_normal(IN_SHAPE)
    h, w = IN_SHAPE[2:]
    ref = np.zeros(IN_SHAPE[:2] + out_hw)
    for oy in range(out_hw[0]):
        for ox in range(out_hw[1]):
            iy, ix = min(oy * h // out_hw[0], h - 1), min(ox * w // out_hw[1], w - 1)
            ref[:, :, oy, ox] = x[:, :, iy, ix]
    np.testing.assert_array_equal(F.interpolate(cnnlab.tensor(x), size=out_hw).numpy(), ref)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("out_hw", [(5, 7), (2, 3), (6, 8)])
def test_interpolate_bilinear_matches_loop(out_hw, align_corners):
    x = seeded().standard_normal(IN_SHAPE)
    y = F.interpolate(cnnlab.tensor(x), size=out_hw, mode="bilinear", align_corners=align_corners)
    np.testing.assert_allclose(y.numpy(), _bilinear_ref(x, out_hw, align_corners), rtol=1e-6)


def _keys(d, a=-0.75):
    d = abs(d)
    if d <= 1:
        return (a + 2) * d**3 - (a + 3) * d**2 + 1
    return a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a if d < 2 else 0.0


@pytest.mark.parametrize("out_hw", [(5, 7), (2, 3)])
def test_interpolate_bicubic_matches_loop(out_hw):
    x = seeded().standard_normal(IN_SHAPE)
    h, w = IN_SHAPE[2:]
    ref = np.zeros(IN_SHAPE[:2] + out_hw)
    for oy, ox in np.ndindex(*out_hw):
        sy, sx = (oy + 0.5) * h / out_hw[0] - 0.5, (ox + 0.5) * w / out_hw[1] - 0.5
        for ty in range(math.floor(sy) - 1, math.floor(sy) + 3):
            for tx in range(math.floor(sx) - 1, math.floor(sx) + 3):  # edge values repeated
                px = x[:, :, min(max(ty, 0), h - 1), min(max(tx, 0), w - 1)]
                ref[:, :, oy, ox] += _keys(sy - ty) * _keys(sx - tx) * px
    y = F.interpolate(cnnlab.tensor(x), size=out_hw, mode="bicubic")
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-10, atol=1e-12)


def test_interpolate_antialiased_bilinear_matches_loop():
    x = seeded().standard_normal((1, 1, 1, 7))
    y = F.interpolate(cnnlab.tensor(x), size=(1, 3), mode="bilinear", antialias=True)
    ref = np.zeros(3)
    for o in range(3):  # a triangle 7/3 inputs wide around each output, cut at the edges
        center = (o + 0.5) * 7 / 3 - 0.5
        w = np.array([max(0.0, 1 - abs(t - center) * 3 / 7) for t in range(7)])
        ref[o] = (w * x[0, 0, 0]).sum() / w.sum()
    np.testing.assert_allclose(y.numpy()[0, 0, 0], ref, rtol=1e-12)


@pytest.mark.parametrize("mode,align_corners,kw", INTERP_CASES)
def test_interpolate_gradcheck(mode, align_corners, kw):
    x = seeded(1).standard_normal(IN_SHAPE)
    check_gradients(lambda t: F.interpolate(t, mode=mode, align_corners=align_corners, **kw), [x])


@requires_torch
@pytest.mark.parametrize("mode,align_corners,kw", INTERP_CASES)
def test_interpolate_torch_parity(mode, align_corners, kw):
    x = seeded(2).standard_normal((2, 3, 5, 6)).astype(np.float32)
    torch_parity(
        lambda t: F.interpolate(t, mode=mode, align_corners=align_corners, **kw),
        lambda t: torch.nn.functional.interpolate(t, mode=mode, align_corners=align_corners, **kw),
        [x],
    )


@requires_torch
@pytest.mark.parametrize("mode,shape", [("linear", (2, 3, 5)), ("trilinear", (1, 2, 3, 4, 3))])
def test_interpolate_linear_and_trilinear_torch_parity(mode, shape):
    x = seeded(3).standard_normal(shape).astype(np.float32)
    torch_parity(
        lambda t: F.interpolate(t, scale_factor=1.7, mode=mode),
        lambda t: torch.nn.functional.interpolate(t, scale_factor=1.7, mode=mode),
        [x],
    )


def test_interpolate_rejects_bad_arguments():
    x = cnnlab.tensor(np.zeros(IN_SHAPE))
    with pytest.raises(ValueError, match="exactly one"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="exactly one"):
        F.interpolate(x, size=4, scale_factor=2)
    with pytest.raises(ValueError, match="mode 'linear' expects a 3-D"):
        F.interpolate(x, size=4, mode="linear")
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(x, size=4, align_corners=True)
    with pytest.raises(ValueError, match="interpolate: unsupported mode"):
        F.interpolate(x, size=4, mode="area")
    with pytest.raises(ValueError, match="antialias=True needs mode 'bilinear' or 'bicubic'"):
        F.interpolate(x, size=4, mode="nearest", antialias=True)

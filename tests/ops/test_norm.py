import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity

SHAPES = [(5, 3), (2, 3, 4), (2, 3, 3, 2)]
CASES = [(s, training, affine) for s in SHAPES for training in (True, False) for affine in (1, 0)]


def _arrays(shape, seed=0, dtype=np.float64):
    rng = seeded(seed)
    c = shape[1]
    x = rng.standard_normal(shape) * 2 + 1
    return [
        a.astype(dtype)
        for a in (
            x,
            rng.standard_normal(c),
            rng.standard_normal(c),  # x, weight, bias
            rng.standard_normal(c),
            rng.uniform(0.5, 2.0, c),  # running mean, running var
        )
    ]


def _loop_reference(x, w, b, mean, var, eps=1e-5):
    out = np.empty_like(x)
    for ch in range(x.shape[1]):
        out[:, ch] = (x[:, ch] - mean[ch]) / np.sqrt(var[ch] + eps) * w[ch] + b[ch]
    return out


@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_forward_matches_loop(shape):
    x, w, b, rm, rv = _arrays(shape)
    batch_mean = np.array([x[:, ch].mean() for ch in range(shape[1])])
    batch_var = np.array([x[:, ch].var() for ch in range(shape[1])])
    t = [cnnlab.tensor(a) for a in (x, w, b)]
    train = F.batch_norm(t[0], None, None, t[1], t[2], training=True)
    np.testing.assert_allclose(train.numpy(), _loop_reference(x, w, b, batch_mean, batch_var))
    evalm = F.batch_norm(t[0], rm, rv, t[1], t[2], training=False)
    np.testing.assert_allclose(evalm.numpy(), _loop_reference(x, w, b, rm, rv))


@pytest.mark.parametrize("shape,training,affine", CASES)
def test_batch_norm_gradcheck(shape, training, affine):
    x, w, b, rm, rv = _arrays(shape, seed=1)
    stats = (None, None) if training else (rm, rv)  # no running updates between evaluations
    if affine:
        check_gradients(lambda x, w, b: F.batch_norm(x, *stats, w, b, training), [x, w, b])
    else:
        check_gradients(lambda x: F.batch_norm(x, *stats, training=training), [x])


@requires_torch
@pytest.mark.parametrize("shape,training,affine", CASES)
def test_batch_norm_torch_parity(shape, training, affine):
    x, w, b, rm, rv = _arrays(shape, seed=2, dtype=np.float32)
    ours = (rm.copy(), rv.copy())
    theirs = (torch.tensor(rm), torch.tensor(rv))
    args = [x, w, b] if affine else [x]
    torch_parity(
        lambda *t: F.batch_norm(t[0], *ours, *t[1:], training=training),
        lambda *t: torch.nn.functional.batch_norm(t[0], *theirs, *t[1:], training=training),
        args,
        rtol=1e-5,
        atol=1e-4,
    )
    np.testing.assert_allclose(ours[0], theirs[0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours[1], theirs[1].numpy(), rtol=1e-5, atol=1e-6)


@requires_torch
@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_running_stats_follow_torch_over_steps_then_eval(momentum):
    rng = seeded(3)
    c = 4
    rm, rv = cnnlab.tensor(np.zeros(c, np.float32)), cnnlab.tensor(np.ones(c, np.float32))
    rm_data = rm.array
    trm, trv = torch.zeros(c), torch.ones(c)
    w, b = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    for _ in range(5):
        x = (rng.standard_normal((6, c, 3, 3)) * 3 + 2).astype(np.float32)
        F.batch_norm(cnnlab.tensor(x), rm, rv, cnnlab.tensor(w), cnnlab.tensor(b), True, momentum)
        torch.nn.functional.batch_norm(
            torch.tensor(x), trm, trv, torch.tensor(w), torch.tensor(b), True, momentum
        )
    assert rm.array is rm_data  # updated in place
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-5, atol=1e-6)
    x = rng.standard_normal((3, c, 2, 2)).astype(np.float32)
    ours = F.batch_norm(cnnlab.tensor(x), rm, rv, cnnlab.tensor(w), cnnlab.tensor(b))
    ref = torch.nn.functional.batch_norm(
        torch.tensor(x), trm, trv, torch.tensor(w), torch.tensor(b)
    )
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)


def test_running_stats_are_not_touched_in_eval_or_without_grad_graph():
    x, w, b, rm, rv = _arrays((4, 3), dtype=np.float32)
    rm0, rv0 = rm.copy(), rv.copy()
    F.batch_norm(cnnlab.tensor(x), rm, rv, training=False)
    np.testing.assert_array_equal(rm, rm0)
    with cnnlab.no_grad():
        F.batch_norm(cnnlab.tensor(x), rm, rv, training=True)
    assert not np.array_equal(rm, rm0) and not np.array_equal(rv, rv0)
    assert rm.dtype == np.float32 and rv.dtype == np.float32


def test_float32_stays_float32():
    x, w, b, rm, rv = _arrays((4, 3, 2, 2), dtype=np.float32)
    t = cnnlab.tensor(x, requires_grad=True)
    y = F.batch_norm(t, rm, rv, cnnlab.tensor(w), cnnlab.tensor(b), training=True)
    assert y.dtype == np.float32
    y.sum().backward()
    assert t.grad.dtype == np.float32


def test_batch_norm_errors():
    x = cnnlab.tensor(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"batch_norm.*running_mean.*\(3,\).*\(2,\)"):
        F.batch_norm(x, np.zeros(2), np.ones(3))
    with pytest.raises(ValueError, match="batch_norm.*more than 1 value per channel"):
        F.batch_norm(cnnlab.tensor(np.zeros((1, 3))), None, None, training=True)
    with pytest.raises(ValueError, match="batch_norm.*eval mode needs"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match="batch_norm.*at least 2 dims"):
        F.batch_norm(cnnlab.tensor(np.zeros(3)), None, None, training=True)


@pytest.mark.parametrize("offset", [0.0, 30.0])
def test_batch_norm_gradcheck_both_statistics_paths(offset):
    # offset 0: one-pass statistics (E[x^2] - mean^2); offset 30: mean^2 dwarfs the variance,
    # so the two-pass path over x - mean runs (the one-pass sums would cancel)
    rng = seeded(3)
    x = rng.standard_normal((4, 3, 3, 3)) + offset
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    check_gradients(lambda x, w, b: F.batch_norm(x, None, None, w, b, True), [x, w, b])


def test_batch_norm_float32_keeps_precision_on_offset_inputs():
    # regression guard for the one-pass statistics: far-from-zero activations in float32
    rng = seeded(4)
    for offset in (0.0, 3.0, 100.0, 1e4):
        x = (rng.standard_normal((8, 4, 6, 6)) * 0.5 + offset).astype(np.float32)
        g = rng.standard_normal(x.shape).astype(np.float32)
        t = cnnlab.tensor(x, requires_grad=True)
        out = F.batch_norm(t, None, None, training=True)
        out.backward(g)
        x64, g64 = x.astype(np.float64), g.astype(np.float64)
        mean = x64.mean(axis=(0, 2, 3), keepdims=True)
        invstd = 1 / np.sqrt(x64.var(axis=(0, 2, 3), keepdims=True) + 1e-5)
        xhat = (x64 - mean) * invstd
        np.testing.assert_allclose(out.numpy(), xhat, atol=2e-4 if offset < 1e3 else 2e-2)
        gx = invstd * (
            g64
            - g64.mean(axis=(0, 2, 3), keepdims=True)
            - xhat * (g64 * xhat).mean(axis=(0, 2, 3), keepdims=True)
        )
        np.testing.assert_allclose(t.grad, gx, atol=2e-4 if offset < 1e3 else 5e-2)


# ------------------------------------------------------------------------ layer norm
LAYER_NORM = [((4, 6), (6,)), ((2, 3, 4), (3, 4)), ((2, 3, 4, 5), (5,))]


def _layer_norm_loop(x, shape, w, b, eps=1e-5):
    k = len(shape)
    rows = x.reshape(-1, int(np.prod(shape)))
    out = np.empty_like(rows)
    for r in range(rows.shape[0]):
        out[r] = (rows[r] - rows[r].mean()) / np.sqrt(rows[r].var() + eps)
    out = out.reshape(x.shape)
    assert x.shape[x.ndim - k :] == shape
    return out * w + b


@pytest.mark.parametrize("xs,shape", LAYER_NORM)
def test_layer_norm_matches_loop_and_gradcheck(xs, shape):
    rng = seeded(4)
    x, w, b = (
        rng.standard_normal(xs) * 2 + 1,
        rng.standard_normal(shape),
        rng.standard_normal(shape),
    )
    got = F.layer_norm(cnnlab.tensor(x), shape, cnnlab.tensor(w), cnnlab.tensor(b))
    np.testing.assert_allclose(got.numpy(), _layer_norm_loop(x, shape, w, b), atol=1e-12)
    check_gradients(lambda x, w, b: F.layer_norm(x, shape, w, b), [x, w, b])
    check_gradients(lambda x: F.layer_norm(x, shape), [x])


@requires_torch
@pytest.mark.parametrize("xs,shape", LAYER_NORM)
def test_layer_norm_torch_parity(xs, shape):
    rng = seeded(5)
    x = (rng.standard_normal(xs) * 2 + 1).astype(np.float32)
    w, b = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
    torch_parity(
        lambda *t: F.layer_norm(t[0], shape, *t[1:], eps=1e-4),
        lambda *t: torch.nn.functional.layer_norm(t[0], shape, *t[1:], eps=1e-4),
        [x, w, b],
        atol=1e-4,
    )


@requires_torch
@pytest.mark.parametrize("size", [3, 4])
def test_instance_and_local_response_norm_composites_torch_parity(size):
    rng = seeded(6)
    x = rng.standard_normal((2, 5, 4, 3)).astype(np.float32)
    w, b = rng.random(5).astype(np.float32) + 0.5, rng.standard_normal(5).astype(np.float32)
    torch_parity(
        F.instance_norm,
        lambda x, w, b: torch.nn.functional.instance_norm(x, weight=w, bias=b),
        [x, w, b],
        atol=1e-4,
    )
    torch_parity(
        lambda t: F.local_response_norm(t, size, 0.3, 0.7, 2.0),
        lambda t: torch.nn.functional.local_response_norm(t, size, 0.3, 0.7, 2.0),
        [x],
    )


def test_layer_norm_errors_name_the_shapes():
    x = cnnlab.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"layer_norm: expected an input ending in .*\(4,\)"):
        F.layer_norm(x, 4)
    with pytest.raises(ValueError, match=r"layer_norm: expected weight of shape \(3,\)"):
        F.layer_norm(x, 3, cnnlab.tensor(np.ones(2)))

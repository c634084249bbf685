import math

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity

# (input shape, reduction, label_smoothing, weighted, with an ignored target)
CE_CASES = [
    ((5, 4), "mean", 0.0, False, False),
    ((5, 4), "sum", 0.0, True, True),
    ((5, 4), "none", 0.2, True, True),
    ((5, 4), "mean", 0.3, True, True),
    ((5, 4), "mean", 0.1, False, True),
    ((2, 3, 2, 2), "mean", 0.0, True, True),
    ((2, 3, 2, 2), "none", 0.1, False, False),
    ((2, 3, 4), "sum", 0.25, True, True),
    ((2, 11, 3, 4), "mean", 0.0, False, True),  # a segmenter's logits: 10 classes + background
    ((4,), "none", 0.1, True, False),
]


def _ce_data(shape, weighted, ignored, seed=0, dtype=np.float64):
    rng = seeded(seed)
    c = shape[1] if len(shape) > 1 else shape[0]
    t_shape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    t = rng.integers(0, c, t_shape)
    if ignored:
        t.reshape(-1)[1] = -100
    w = rng.uniform(0.5, 2.0, c).astype(dtype) if weighted else None
    return x, t, w


def _ce_loop(x, t, w, reduction, ls, ignore_index=-100, log_probs=False):
    """Plain-loop cross-entropy (or NLL when ``log_probs``) following PyTorch's definition."""
    c = x.shape[1] if x.ndim > 1 else x.shape[0]
    x = x[None] if x.ndim == 1 else x
    xr = np.moveaxis(x, 1, -1).reshape(-1, c)
    w = np.ones(c) if w is None else w
    losses, denom = [], 0.0
    for row, target in zip(xr, np.reshape(t, -1)):
        if target == ignore_index:
            losses.append(0.0)
            continue
        if log_probs:
            logp = list(row)
        else:
            lse = math.log(sum(math.exp(v) for v in row))
            logp = [v - lse for v in row]
        nll = -w[target] * logp[target]
        smooth = -sum(w[k] * logp[k] for k in range(c)) / c
        losses.append((1 - ls) * nll + ls * smooth)
        denom += w[target]
    losses = np.array(losses)
    if reduction == "none":
        return losses.reshape(np.shape(t))
    return losses.sum() / (denom if reduction == "mean" else 1.0)


@pytest.mark.parametrize("shape,reduction,ls,weighted,ignored", CE_CASES)
def test_cross_entropy_matches_loop(shape, reduction, ls, weighted, ignored):
    x, t, w = _ce_data(shape, weighted, ignored)
    out = F.cross_entropy(cnnlab.tensor(x), t, w, reduction=reduction, label_smoothing=ls)
    np.testing.assert_allclose(out.numpy(), _ce_loop(x, t, w, reduction, ls), rtol=1e-10)


@pytest.mark.parametrize("shape,reduction,ls,weighted,ignored", CE_CASES)
def test_cross_entropy_gradcheck(shape, reduction, ls, weighted, ignored):
    x, t, w = _ce_data(shape, weighted, ignored, seed=1)
    check_gradients(
        lambda a: F.cross_entropy(a, t, w, reduction=reduction, label_smoothing=ls), [x]
    )


@requires_torch
@pytest.mark.parametrize("shape,reduction,ls,weighted,ignored", CE_CASES)
def test_cross_entropy_torch_parity(shape, reduction, ls, weighted, ignored):
    x, t, w = _ce_data(shape, weighted, ignored, seed=2, dtype=np.float32)
    tw = None if w is None else torch.tensor(w)
    torch_parity(
        lambda a: F.cross_entropy(a, t, w, reduction=reduction, label_smoothing=ls),
        lambda a: torch.nn.functional.cross_entropy(
            a, torch.tensor(t), tw, reduction=reduction, label_smoothing=ls
        ),
        [x],
    )


@pytest.mark.parametrize("shape,reduction,_ls,weighted,ignored", CE_CASES)
def test_nll_loss_matches_loop_and_gradcheck(shape, reduction, _ls, weighted, ignored):
    x, t, w = _ce_data(shape, weighted, ignored, seed=3)
    out = F.nll_loss(cnnlab.tensor(x), t, w, reduction=reduction)
    ref = _ce_loop(x, t, w, reduction, 0.0, log_probs=True)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10)
    check_gradients(lambda a: F.nll_loss(a, t, w, reduction=reduction), [x])


@requires_torch
@pytest.mark.parametrize("shape,reduction,_ls,weighted,ignored", CE_CASES)
def test_nll_loss_torch_parity(shape, reduction, _ls, weighted, ignored):
    x, t, w = _ce_data(shape, weighted, ignored, seed=4, dtype=np.float32)
    tw = None if w is None else torch.tensor(w)
    torch_parity(
        lambda a: F.nll_loss(a, t, w, reduction=reduction),
        lambda a: torch.nn.functional.nll_loss(a, torch.tensor(t), tw, reduction=reduction),
        [x],
    )


@requires_torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ls,weighted", [(0.0, False), (0.2, True)])
def test_cross_entropy_probability_targets_torch_parity(reduction, ls, weighted):
    rng = seeded(5)
    x = rng.standard_normal((4, 3, 2)).astype(np.float32)
    p = rng.dirichlet(np.ones(3), size=(4, 2)).transpose(0, 2, 1).astype(np.float32)
    w = rng.uniform(0.5, 2, 3).astype(np.float32) if weighted else None
    tw = None if w is None else torch.tensor(w)
    torch_parity(
        lambda a, b: F.cross_entropy(a, b, w, reduction=reduction, label_smoothing=ls),
        lambda a, b: torch.nn.functional.cross_entropy(
            a, b, tw, reduction=reduction, label_smoothing=ls
        ),
        [x, p],
    )


def test_cross_entropy_is_stable_and_all_ignored_gives_nan():
    x = cnnlab.tensor(np.array([[1e4, -1e4, 0.0]], dtype=np.float32), requires_grad=True)
    loss = F.cross_entropy(x, np.array([1]))
    np.testing.assert_allclose(loss.item(), 2e4, rtol=1e-6)
    loss.backward()
    np.testing.assert_allclose(x.grad, [[1, -1, 0]], atol=1e-6)
    assert math.isnan(F.cross_entropy(x, np.array([-100])).item())  # 0 / 0, as PyTorch


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_class_target_errors(fn):
    name = fn.__name__
    x = cnnlab.tensor(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=rf"{name}.*\[0, 3\].*got 4"):
        fn(x, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=rf"{name}.*\[0, 3\].*got -1"):
        fn(x, np.array([0, -1, 1]))
    with pytest.raises(ValueError, match=rf"{name}.*target of shape \(3,\)"):
        fn(x, np.array([0, 1]))
    with pytest.raises(ValueError, match=rf"{name}.*weight of shape \(4,\)"):
        fn(x, np.array([0, 1, 2]), np.ones(3))
    with pytest.raises(ValueError, match=rf"{name}.*reduction"):
        fn(x, np.array([0, 1, 2]), reduction="avg")
    fn(x, np.array([0, 7, 1]), ignore_index=7)  # the ignore index may lie outside [0, C)


# ------------------------------------------------------------------ mse and bce
ELEMENT_CASES = [((6,), "mean"), ((3, 4), "sum"), ((2, 3, 2), "none")]


@pytest.mark.parametrize("shape,reduction", ELEMENT_CASES)
def test_mse_loss(shape, reduction):
    rng = seeded(6)
    x, y = rng.standard_normal(shape), rng.standard_normal(shape)
    out = F.mse_loss(cnnlab.tensor(x), cnnlab.tensor(y), reduction=reduction).numpy()
    sq = np.array([(a - b) ** 2 for a, b in zip(x.ravel(), y.ravel())]).reshape(shape)
    ref = {"mean": sq.mean(), "sum": sq.sum(), "none": sq}[reduction]
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    check_gradients(lambda a, b: F.mse_loss(a, b, reduction), [x, y])
    if torch is not None:
        torch_parity(
            lambda a, b: F.mse_loss(a, b, reduction),
            lambda a, b: torch.nn.functional.mse_loss(a, b, reduction=reduction),
            [x.astype(np.float32), y.astype(np.float32)],
        )


@pytest.mark.parametrize("shape,reduction", ELEMENT_CASES)
def test_l1_loss(shape, reduction):
    rng = seeded(7)
    x, y = rng.standard_normal(shape), rng.standard_normal(shape)
    out = F.l1_loss(cnnlab.tensor(x), cnnlab.tensor(y), reduction=reduction).numpy()
    ab = np.array([abs(a - b) for a, b in zip(x.ravel(), y.ravel())]).reshape(shape)
    ref = {"mean": ab.mean(), "sum": ab.sum(), "none": ab}[reduction]
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    check_gradients(lambda a, b: F.l1_loss(a, b, reduction), [x, y])
    if torch is not None:
        torch_parity(
            lambda a, b: F.l1_loss(a, b, reduction),
            lambda a, b: torch.nn.functional.l1_loss(a, b, reduction=reduction),
            [x.astype(np.float32), y.astype(np.float32)],
        )
    with pytest.raises(ValueError, match="l1_loss: reduction must be one of"):
        F.l1_loss(cnnlab.tensor(x), cnnlab.tensor(y), reduction="avg")


def _bce_data(shape, weighted, pos_weighted, seed, dtype=np.float64):
    rng = seeded(seed)
    x = rng.standard_normal(shape) * 3
    t = rng.uniform(0, 1, shape)
    w = rng.uniform(0.5, 2, shape[-1:]) if weighted else None
    pw = rng.uniform(0.5, 3, shape[-1:]) if pos_weighted else None
    return [None if a is None else a.astype(dtype) for a in (x, t, w, pw)]


BCE_CASES = [(s, r, w, pw) for s, r in ELEMENT_CASES for w in (0, 1) for pw in (0, 1)]


def _bce(reduction):
    return lambda x, t, w, pw: F.binary_cross_entropy_with_logits(x, t, w, reduction, pw)


@pytest.mark.parametrize("shape,reduction,weighted,pos_weighted", BCE_CASES)
def test_bce_with_logits_loop_and_gradcheck(shape, reduction, weighted, pos_weighted):
    x, t, w, pw = _bce_data(shape, weighted, pos_weighted, seed=7)
    ref = np.empty(shape)
    for idx in np.ndindex(*shape):
        k, s = idx[-1], 1 / (1 + math.exp(-x[idx]))
        p = 1.0 if pw is None else pw[k]
        ref[idx] = -(p * t[idx] * math.log(s) + (1 - t[idx]) * math.log(1 - s))
        ref[idx] *= 1.0 if w is None else w[k]
    ref = {"mean": ref.mean(), "sum": ref.sum(), "none": ref}[reduction]
    tensors = [None if a is None else cnnlab.tensor(a) for a in (x, t, w, pw)]
    np.testing.assert_allclose(_bce(reduction)(*tensors).numpy(), ref, rtol=1e-10)
    check_gradients(_bce(reduction), [x, t, w, pw])


@requires_torch
@pytest.mark.parametrize("shape,reduction,weighted,pos_weighted", BCE_CASES)
def test_bce_with_logits_torch_parity(shape, reduction, weighted, pos_weighted):
    arrays = _bce_data(shape, weighted, pos_weighted, seed=8, dtype=np.float32)
    arrays[0].reshape(-1)[0] = 0.0  # the kink of |x| inside the stable formula
    torch_parity(
        _bce(reduction),
        lambda x, t, w, pw: torch.nn.functional.binary_cross_entropy_with_logits(
            x, t, w, reduction=reduction, pos_weight=pw
        ),
        arrays,
        grad_inputs=[
            True,
            True,
            False,
            False,
        ],  # torch differentiates neither weight (gradcheck does)
    )


def test_bce_with_logits_is_stable():
    x = cnnlab.tensor(np.array([-1e4, 1e4, 0.0], dtype=np.float32), requires_grad=True)
    t = cnnlab.tensor(np.array([1.0, 0.0, 1.0], dtype=np.float32))
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [1e4, 1e4, math.log(2)], rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad, [-1, 1, -0.5])


@pytest.mark.parametrize("fn", [F.mse_loss, F.binary_cross_entropy_with_logits])
def test_elementwise_loss_shape_mismatch(fn):
    a, b = cnnlab.tensor(np.zeros((4, 1))), cnnlab.tensor(np.zeros(4))
    with pytest.raises(ValueError, match=rf"{fn.__name__}.*\(4,\).*\(4, 1\)"):
        fn(a, b)

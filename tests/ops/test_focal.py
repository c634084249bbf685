"""CenterNet's Gaussian focal loss: a loop reference, float64 gradcheck, PyTorch parity."""

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity

# (shape, alpha, beta, centres)
CASES = [
    ((2, 3, 5, 5), 2.0, 4.0, 3),
    ((1, 2, 4, 6), 1.5, 2.0, 1),
    ((2, 1, 3, 3), 2.0, 4.0, 0),  # no centre: divided by 1
]


def _data(shape, centres, seed, dtype=np.float64):
    rng = seeded(seed)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    y = (rng.random(shape) ** 3 * 0.99).astype(dtype)
    flat = y.reshape(-1)
    flat[rng.choice(flat.size, centres, replace=False)] = 1.0
    return x, y


def _loop(x, y, alpha, beta):
    total, centres = 0.0, 0
    for xi, yi in zip(x.reshape(-1), y.reshape(-1)):
        p = 1 / (1 + np.exp(-xi))
        if yi == 1:
            total -= (1 - p) ** alpha * np.log(p)
            centres += 1
        else:
            total -= (1 - yi) ** beta * p**alpha * np.log(1 - p)
    return total / max(centres, 1)


@pytest.mark.parametrize("shape,alpha,beta,centres", CASES)
def test_focal_matches_loop_and_gradcheck(shape, alpha, beta, centres):
    x, y = _data(shape, centres, seed=0)
    out = F.gaussian_focal_loss(cnnlab.tensor(x), y, alpha, beta)
    assert float(out.item()) == pytest.approx(_loop(x, y, alpha, beta), rel=1e-10)
    check_gradients(lambda a: F.gaussian_focal_loss(a, y, alpha, beta), [x])


def _torch_focal(alpha, beta):
    def fn(x, y):
        p = torch.sigmoid(x)
        pos = y == 1
        loss = torch.where(
            pos,
            -((1 - p) ** alpha) * torch.nn.functional.logsigmoid(x),
            -((1 - y) ** beta) * p**alpha * torch.nn.functional.logsigmoid(-x),
        )
        return loss.sum() / pos.sum().clamp(min=1)

    return fn


@requires_torch
@pytest.mark.parametrize("shape,alpha,beta,centres", CASES)
def test_focal_torch_parity(shape, alpha, beta, centres):
    x, y = _data(shape, centres, seed=1, dtype=np.float32)
    torch_parity(
        lambda a, b: F.gaussian_focal_loss(a, b.numpy(), alpha, beta),
        _torch_focal(alpha, beta),
        [x, y],
        grad_inputs=[True, False],
    )


def test_focal_is_finite_for_extreme_logits():
    x = cnnlab.tensor(np.array([[-80.0, 80.0, 80.0, -80.0]]), requires_grad=True)
    y = np.array([[1.0, 1.0, 0.0, 0.0]])
    loss = F.gaussian_focal_loss(x, y)
    loss.backward()
    assert np.isfinite(float(loss.item())) and np.isfinite(x.grad.numpy()).all()
    assert float(loss.item()) == pytest.approx((80.0 + 80.0) / 2, rel=1e-6)


def test_bad_targets_are_named():
    x = cnnlab.zeros(1, 2, 3, 3)
    with pytest.raises(ValueError, match=r"gaussian_focal_loss: target shape \(1, 2, 3\)"):
        F.gaussian_focal_loss(x, np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match=r"target values must be in \[0, 1\]"):
        F.gaussian_focal_loss(x, np.full((1, 2, 3, 3), 2.0))

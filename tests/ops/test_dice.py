import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab import nn
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity

# (input shape, reduction, smooth, with ignored pixels)
CASES = [
    ((2, 3, 4, 4), "mean", 1.0, False),
    ((2, 4, 3, 5), "sum", 0.5, True),
    ((3, 3, 5), "none", 1.0, True),
    ((6, 5), "mean", 0.0, False),
]


def _data(shape, ignored, seed, dtype=np.float64):
    rng = seeded(seed)
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    t = rng.integers(0, shape[1], (shape[0], *shape[2:]))
    t.reshape(-1)[0] = 0  # every class present in case smooth is 0
    t.reshape(-1)[1 : shape[1]] = np.arange(1, shape[1])
    if ignored:
        t.reshape(-1)[-1] = -100
    return x, t


def _loop(x, t, reduction, smooth):
    """Dice written out pixel by pixel."""
    c = x.shape[1]
    rows = np.moveaxis(x, 1, -1).reshape(-1, c)
    inter, psum, ysum = np.zeros(c), np.zeros(c), np.zeros(c)
    for row, k in zip(rows, t.reshape(-1)):
        if k == -100:
            continue
        p = np.exp(row - row.max())
        p /= p.sum()
        psum += p
        ysum[k] += 1
        inter[k] += p[k]
    loss = 1 - (2 * inter + smooth) / (psum + ysum + smooth)
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]


@pytest.mark.parametrize("shape,reduction,smooth,ignored", CASES)
def test_dice_matches_loop_and_gradcheck(shape, reduction, smooth, ignored):
    x, t = _data(shape, ignored, seed=0)
    out = F.dice_loss(cnnlab.tensor(x), t, smooth=smooth, reduction=reduction)
    np.testing.assert_allclose(out.numpy(), _loop(x, t, reduction, smooth), rtol=1e-10)
    check_gradients(lambda a: F.dice_loss(a, t, smooth=smooth, reduction=reduction), [x])


def _torch_dice(reduction, smooth):
    def fn(x, t):
        valid = t != -100
        y = torch.nn.functional.one_hot(torch.where(valid, t, 0), x.shape[1])
        y = torch.movedim(y * valid[..., None], -1, 1).to(x.dtype)
        p = torch.softmax(x, 1) * valid[:, None].to(x.dtype)
        dims = (0, *range(2, x.ndim))
        loss = 1 - (2 * (p * y).sum(dims) + smooth) / (p.sum(dims) + y.sum(dims) + smooth)
        return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]

    return fn


@requires_torch
@pytest.mark.parametrize("shape,reduction,smooth,ignored", CASES)
def test_dice_torch_parity(shape, reduction, smooth, ignored):
    x, t = _data(shape, ignored, seed=1, dtype=np.float32)
    torch_parity(
        lambda a, b: F.dice_loss(a, b.numpy(), smooth=smooth, reduction=reduction),
        _torch_dice(reduction, smooth),
        [x, t],
    )


def test_perfect_prediction_has_zero_loss_and_layer_wraps_functional():
    t = np.array([[[0, 1], [2, 2]]])
    x = np.moveaxis(np.eye(3)[t], -1, 1) * 50.0
    assert float(F.dice_loss(cnnlab.tensor(x), t).item()) == pytest.approx(0.0, abs=1e-12)
    layer = nn.DiceLoss(smooth=0.5, reduction="sum")
    x = seeded(3).standard_normal((1, 3, 2, 2))
    assert float(layer(cnnlab.tensor(x), t).item()) == pytest.approx(_loop(x, t, "sum", 0.5))
    assert "smooth=0.5" in repr(layer)


def test_bad_arguments_are_named():
    x = cnnlab.zeros(2, 3, 4, 4)
    with pytest.raises(ValueError, match=r"dice_loss: expected target of shape \(2, 4, 4\)"):
        F.dice_loss(x, np.zeros((2, 4), np.int64))
    with pytest.raises(ValueError, match="dice_loss: target class indices must be in"):
        F.dice_loss(x, np.full((2, 4, 4), 3))
    with pytest.raises(ValueError, match="dice_loss: smooth must be >= 0"):
        F.dice_loss(x, np.zeros((2, 4, 4), np.int64), smooth=-1)
    with pytest.raises(ValueError, match="dice_loss: expected input of shape"):
        F.dice_loss(cnnlab.zeros(3), np.zeros((), np.int64))

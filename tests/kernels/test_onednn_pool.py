"""oneDNN max and average pooling (ceil_mode, padding, dilation, overlapping windows) against
cnnlab's NumPy pooling (forward and autograd backward) and PyTorch."""

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab.kernels import onednn
from tests.helpers import requires_torch, seeded, torch

pytestmark = pytest.mark.skipif(
    not onednn.available(), reason=f"oneDNN kernels unavailable: {onednn.why_unavailable()}"
)

# (x shape, kernel, stride, padding (ph, pw), dilation, ceil_mode)
POOL = [
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), (1, 1), False),  # LeNet / fashion_cnn
    ((1, 4, 9, 9), (3, 3), (2, 2), (1, 1), (1, 1), True),  # batch 1, ceil, padding
    ((2, 3, 8, 8), (3, 3), (2, 2), (0, 0), (1, 1), True),  # ceil adds a column of windows
    ((2, 2, 7, 10), (3, 2), (2, 3), (1, 1), (1, 1), True),
    ((2, 3, 11, 9), (3, 3), (1, 1), (1, 0), (1, 1), False),  # overlapping windows
    ((1, 2, 10, 11), (3, 2), (2, 3), (1, 1), (2, 1), True),  # dilation (max only)
    ((2, 3, 7, 7), (3, 3), (3, 3), (1, 1), (1, 1), True),
]
IDS = [f"x{c[0]}-k{c[1]}-s{c[2]}-p{c[3]}-d{c[4]}-ceil{c[5]}" for c in POOL]


def _close(a, b, what):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=what)


def _x(shape, seed=0):
    return seeded(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("xs, kernel, stride, padding, dilation, ceil", POOL, ids=IDS)
def test_max_pool_matches_cnnlab_and_torch(xs, kernel, stride, padding, dilation, ceil):
    x = _x(xs)
    a = {
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "ceil_mode": ceil,
    }
    y, state = onednn.max_pool2d_forward(x, **a)
    gy = _x(y.shape, seed=1)
    gx = onednn.max_pool2d_backward(gy, state)
    tx = cnnlab.tensor(x, requires_grad=True)
    ref = F.max_pool2d(tx, kernel, stride, padding, dilation, ceil_mode=ceil)
    (ref * cnnlab.tensor(gy)).sum().backward()
    _close(y, ref.numpy(), "forward vs cnnlab")
    _close(gx, tx.grad, "input gradient vs cnnlab")
    if torch is not None:
        t = torch.tensor(x, requires_grad=True)
        r = torch.nn.functional.max_pool2d(t, kernel, stride, padding, dilation, ceil_mode=ceil)
        r.backward(torch.tensor(gy))
        _close(y, r.detach().numpy(), "forward vs torch")
        _close(gx, t.grad.numpy(), "input gradient vs torch")


def _avg_cases():
    for c in POOL:
        if c[4] == (1, 1):
            for cip in (True, False):
                yield (*c[:4], c[5], cip)


AVG = list(_avg_cases())
# PyTorch's divisor leaves ceil_mode's extra rows out, oneDNN's counts them: unsupported
AVG_SUPPORTED = [
    c for c in AVG if not (onednn.pool_geometry(c[0], c[1], c[2], c[3], (1, 1), c[4])[2] and c[5])
]


@pytest.mark.parametrize("xs, kernel, stride, padding, ceil, include", AVG)
def test_avg_pool_matches_cnnlab_and_torch(xs, kernel, stride, padding, ceil, include):
    x = _x(xs, seed=2)
    a = {
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "ceil_mode": ceil,
        "count_include_pad": include,
    }
    _, _, grown = onednn.pool_geometry(xs, kernel, stride, padding, (1, 1), ceil)
    supported = onednn.supports("avg_pool2d_forward", x, **a)
    assert supported == (not (grown and include))
    if not supported:
        return
    y = onednn.avg_pool2d_forward(x, **a)
    gy = _x(y.shape, seed=3)
    gx = onednn.avg_pool2d_backward(gy, x_shape=xs, **a)
    tx = cnnlab.tensor(x, requires_grad=True)
    ref = F.avg_pool2d(tx, kernel, stride, padding, ceil_mode=ceil, count_include_pad=include)
    (ref * cnnlab.tensor(gy)).sum().backward()
    _close(y, ref.numpy(), "forward vs cnnlab")
    _close(gx, tx.grad, "input gradient vs cnnlab")


@requires_torch
@pytest.mark.parametrize("xs, kernel, stride, padding, ceil, include", AVG_SUPPORTED)
def test_avg_pool_matches_torch(xs, kernel, stride, padding, ceil, include):
    x = _x(xs, seed=4)
    a = {
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "ceil_mode": ceil,
        "count_include_pad": include,
    }
    y = onednn.avg_pool2d_forward(x, **a)
    gy = _x(y.shape, seed=5)
    t = torch.tensor(x, requires_grad=True)
    r = torch.nn.functional.avg_pool2d(
        t, kernel, stride, padding, ceil_mode=ceil, count_include_pad=include
    )
    r.backward(torch.tensor(gy))
    _close(y, r.detach().numpy(), "forward")
    _close(onednn.avg_pool2d_backward(gy, x_shape=xs, **a), t.grad.numpy(), "input gradient")


def test_pool_errors_name_the_primitive():
    x = _x((2, 3, 8, 8))
    y, state = onednn.max_pool2d_forward(
        x, kernel=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1), ceil_mode=False
    )
    with pytest.raises(ValueError, match=r"pooling backward .*expected gy of shape \(2, 3, 4, 4\)"):
        onednn.max_pool2d_backward(np.zeros((2, 3, 3, 3), np.float32), state)
    assert not onednn.supports(
        "max_pool2d_forward",
        x.astype(np.float64),
        kernel=(2, 2),
        stride=(2, 2),
        padding=(0, 0),
        dilation=(1, 1),
        ceil_mode=False,
    )

"""oneDNN element-wise activations (ReLU, hardtanh/ReLU6) against
cnnlab's NumPy activations (forward and autograd backward) and PyTorch."""

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab.kernels import onednn
from tests.helpers import seeded, torch

pytestmark = pytest.mark.skipif(
    not onednn.available(), reason=f"oneDNN kernels unavailable: {onednn.why_unavailable()}"
)

# name -> (ours forward, ours backward(gy, x, y), cnnlab functional, torch functional)
ACTS = {
    "relu": (onednn.relu_forward, lambda gy, x, y: onednn.relu_backward(gy, y), F.relu, "relu"),
    "relu6": (
        lambda x: onednn.hardtanh_forward(x, min_val=0.0, max_val=6.0),
        lambda gy, x, y: onednn.hardtanh_backward(gy, y, min_val=0.0, max_val=6.0),
        F.relu6,
        "relu6",
    ),
    "hardtanh": (
        lambda x: onednn.hardtanh_forward(x, min_val=-2.0, max_val=1.5),
        lambda gy, x, y: onednn.hardtanh_backward(gy, y, min_val=-2.0, max_val=1.5),
        lambda t: F.hardtanh(t, -2.0, 1.5),
        lambda t: torch.nn.functional.hardtanh(t, -2.0, 1.5),
    ),
}


@pytest.mark.parametrize("shape", [(4, 5, 6, 7), (3, 10), (1, 1, 1, 1)])
@pytest.mark.parametrize("name", list(ACTS))
def test_activation_matches_cnnlab_and_torch(name, shape):
    fwd, bwd, ref_fn, torch_fn = ACTS[name]
    x = (seeded(0).standard_normal(shape) * 2).astype(np.float32)
    if x.size > 4:  # the clipping bounds themselves: no gradient there (PyTorch)
        x.flat[:4] = [0.0, 6.0, -2.0, 1.5]
    gy = seeded(1).standard_normal(shape).astype(np.float32)
    y = fwd(x)
    gx = bwd(gy, x, y)
    tx = cnnlab.tensor(x.astype(np.float64), requires_grad=True)
    ref = ref_fn(tx)
    (ref * cnnlab.tensor(gy.astype(np.float64))).sum().backward()
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-5, atol=1e-6, err_msg="forward")
    np.testing.assert_allclose(gx, tx.grad, rtol=1e-5, atol=1e-6, err_msg="gradient")
    if torch is not None:
        tf = getattr(torch.nn.functional, torch_fn) if isinstance(torch_fn, str) else torch_fn
        t = torch.tensor(x, requires_grad=True)
        r = tf(t)
        r.backward(torch.tensor(gy))
        np.testing.assert_allclose(y, r.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(gx, t.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_activation_supports_rejects_equal_bounds_float64_and_tiny_arrays():
    x = np.ones((64, 32, 16, 16), np.float32)  # large enough whether oneDNN's threads sleep
    assert not onednn.supports("hardtanh_forward", x, min_val=1.0, max_val=1.0)
    assert onednn.supports("hardtanh_forward", x, min_val=0.0, max_val=6.0)
    assert onednn.supports("relu_backward", x, x)
    assert not onednn.supports("relu_forward", x.astype(np.float64))
    assert not onednn.supports("relu_forward", x[:1, :1])  # NumPy's loop is faster there
    with pytest.raises(ValueError, match="needs min_val < max_val"):
        onednn.hardtanh_forward(x, min_val=1.0, max_val=1.0)


def test_relu_keeps_nan_as_pytorch_does():
    # regression: oneDNN's ReLU gives 0 for NaN, which hid a diverged run's NaN parameters
    x = np.array([np.nan, -1.0, 2.0, np.inf, -np.inf, 0.0] * 20000, np.float32)
    y = onednn.relu_forward(x)
    np.testing.assert_array_equal(y[:6], [np.nan, 0.0, 2.0, np.inf, 0.0, 0.0])
    np.testing.assert_array_equal(y, torch.relu(torch.from_numpy(x)).numpy())


@pytest.mark.parametrize("size", [7, 64 * 4096 + 64, 64 * 4096 + 1])
def test_relu_nan_check_in_every_row_and_size(size):
    # the check sums rows of x: a NaN anywhere (first, last element) must be seen, and
    # +inf with -inf in one row (a NaN sum) must still give max(x, 0)
    for where in (0, size - 1):
        x = np.ones(size, np.float32)
        x[where] = np.nan
        assert np.isnan(onednn.relu_forward(x)[where])
    x = np.full(size, -1.0, np.float32)
    x[0], x[-1] = np.inf, -np.inf
    y = onednn.relu_forward(x)
    assert y[0] == np.inf and y[-1] == 0.0 and not np.isnan(y).any()


def test_hardtanh_keeps_nan_and_is_checked_only_where_needed():
    # regression: oneDNN's clip maps NaN to a bound; PyTorch's relu6/hardtanh keep it
    x = np.array([np.nan, -1.0, 2.0, 7.0, np.inf, -np.inf] * 20000, np.float32)
    y = onednn.hardtanh_forward(x, min_val=0.0, max_val=6.0)
    np.testing.assert_array_equal(y[:6], [np.nan, 0.0, 2.0, 6.0, 6.0, 0.0])
    t = torch.nn.functional.relu6(torch.from_numpy(x[:6])).numpy() if torch is not None else None
    if t is not None:
        np.testing.assert_array_equal(y[:6], t)
    assert not onednn.supports("hardtanh_forward", x, min_val=1.0, max_val=1.0)
    with pytest.raises(ValueError, match="min_val < max_val"):
        onednn.hardtanh_forward(x, min_val=2.0, max_val=1.0)


def test_backward_takes_a_broadcast_gradient_in_one_copy_into_ys_layout():
    # average pooling's backward sends a stride-0 view; it is laid out as y (NHWC) at once
    y = np.maximum(seeded(2).standard_normal((16, 64, 8, 8)), 0).astype(np.float32)
    y_nhwc = np.ascontiguousarray(y.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    gy = np.broadcast_to(seeded(3).standard_normal((16, 64, 1, 1)).astype(np.float32), y.shape)
    gx = onednn.relu_backward(gy, y_nhwc)
    assert gx.transpose(0, 2, 3, 1).flags.c_contiguous
    np.testing.assert_array_equal(gx, gy * (y > 0))


def test_the_size_oneDNN_pays_for_depends_on_whether_its_threads_sleep(monkeypatch):
    # waking sleeping threads costs more than NumPy's loop on a LeNet-sized ReLU
    x = np.ones((64, 6, 28, 28), np.float32)  # 301k elements
    monkeypatch.setattr(onednn, "threads_sleep", lambda: True)
    assert not onednn.supports("relu_forward", x)
    assert onednn.supports("relu_forward", np.ones((64, 32, 16, 16), np.float32))
    monkeypatch.setattr(onednn, "threads_sleep", lambda: False)
    assert onednn.supports("relu_forward", x) and onednn.supports("add", x, x)
    assert not onednn.supports("relu_forward", x[:, :1, :8])

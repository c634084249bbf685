"""Function.apply tells a forward which inputs need gradients (PyTorch's needs_input_grad)."""

import numpy as np

import cnnlab
import cnnlab.nn.functional as F
from cnnlab.autograd import Function
from cnnlab.ops.conv import Conv2d
from tests.helpers import seeded


class _Probe(Function):
    takes_needs_input_grad = True
    seen = []

    @staticmethod
    def forward(a, b, *, needs_input_grad):
        _Probe.seen.append(needs_input_grad)
        return a + b, None

    @staticmethod
    def backward(ctx, g):
        return g, g


def test_forward_gets_one_flag_per_input():
    _Probe.seen.clear()
    a = cnnlab.tensor(np.ones(3), requires_grad=True)
    b = cnnlab.tensor(np.ones(3))
    _Probe.apply(a, b)
    _Probe.apply(b, 2.0)  # a constant (not a Tensor) never needs a gradient
    with cnnlab.no_grad():
        _Probe.apply(a, b)
    assert _Probe.seen == [(True, False), (False, False), (False, False)]


def test_ops_without_the_flag_get_no_extra_argument():
    class Plain(Function):
        @staticmethod
        def forward(a):
            return a * 2, None

        @staticmethod
        def backward(ctx, g):
            return (g * 2,)

    out = Plain.apply(cnnlab.tensor(np.ones(2), requires_grad=True))
    np.testing.assert_array_equal(out.numpy(), [2.0, 2.0])


def test_conv2d_keeps_only_what_the_asked_for_gradients_need():
    rng = seeded(0)
    x = cnnlab.tensor(rng.standard_normal((2, 3, 6, 6)), requires_grad=True)
    w = cnnlab.tensor(rng.standard_normal((4, 3, 3, 3)))  # frozen: no dL/dW
    y, ctx = Conv2d.apply_with_ctx(
        x, w, None, stride=(1, 1), padding=(1,) * 4, dilation=(1, 1), groups=1
    )
    kept_x, kept_w = ctx[:2]
    assert kept_x is None and kept_w is not None  # dL/dx needs W only
    y.sum().backward()
    assert w.grad is None
    with cnnlab.set_kernels("reference"):
        xr = cnnlab.tensor(x.array, requires_grad=True)
        F.conv2d(xr, w, padding=1).sum().backward()
    np.testing.assert_allclose(x.grad, xr.grad, rtol=1e-12)


def test_max_pool_under_no_grad_computes_no_argmax():
    x = cnnlab.tensor(seeded(1).standard_normal((1, 2, 6, 6)), requires_grad=True)
    with cnnlab.no_grad():
        out, ctx = F.max_pool2d(x, 2), None
        _, ctx = cnnlab.ops.pool.MaxPool2d.apply_with_ctx(x, kernel_size=2)
    assert ctx[0] is None  # no state kept
    np.testing.assert_array_equal(out.numpy(), x.numpy().reshape(1, 2, 3, 2, 3, 2).max((3, 5)))

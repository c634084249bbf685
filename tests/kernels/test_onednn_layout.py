"""Layout in strides: the oneDNN kernels take an image's memory format from its strides
(NCHW or NHWC, PyTorch's channels_last), give on NHWC exactly what they give on NCHW, write
their convolutions' results NHWC and keep the input's layout elsewhere; the engine and the
ops see ordinary NumPy arrays throughout, and a training step through them matches the
NumPy kernels."""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab import nn
from tests.helpers import seeded

onednn = pytest.importorskip("cnnlab.kernels.onednn")
pytestmark = pytest.mark.skipif(not onednn.available(), reason="oneDNN does not load here")

GEO = {"stride": (1, 1), "padding": (1, 1, 1, 1), "dilation": (1, 1), "groups": 1}
POOL = {"kernel": (2, 2), "stride": (2, 2), "padding": (0, 0, 0, 0), "ceil_mode": False}


def _rand(*shape, seed=0):
    return seeded(seed).standard_normal(shape).astype(np.float32)


def _nhwc(a):
    """``a`` with NHWC strides (the same values)."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def _is_nhwc(a):
    return a.transpose(0, 2, 3, 1).flags.c_contiguous and not a.flags.c_contiguous


def test_an_nhwc_array_is_read_in_place_and_a_conv_writes_nhwc():
    from cnnlab.kernels.onednn import arrays

    x = _rand(2, 16, 5, 5)
    xn = _nhwc(x)
    assert arrays.image(xn, "x", "t") is xn and arrays.tag(xn) == onednn.constants.TAG_NHWC
    assert arrays.tag(x) == onednn.constants.TAG_NCHW
    odd = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)  # neither
    assert arrays.image(odd, "x", "t").flags.c_contiguous
    y = onednn.conv2d_forward(x, _rand(8, 16, 3, 3, seed=1), None, **GEO)
    assert _is_nhwc(y) and y.shape == (2, 8, 5, 5)
    np.testing.assert_array_equal(arrays.flat(y), y.transpose(0, 2, 3, 1).reshape(-1))


@pytest.mark.parametrize("channels, groups", [(16, 1), (20, 1), (3, 1), (16, 16)])
def test_every_kernel_on_an_nhwc_image_equals_nchw(channels, groups):
    x = _rand(2, channels, 6, 6)
    xn = _nhwc(x)
    w = _rand(8 * groups // groups * (1 if groups == 1 else 2), channels // groups, 3, 3, seed=1)
    geo = {**GEO, "groups": groups}
    y = onednn.conv2d_forward(x, w, None, **geo)
    np.testing.assert_array_equal(onednn.conv2d_forward(xn, w, None, **geo), y)
    g = _rand(*y.shape, seed=2)
    for gy in (g, _nhwc(g)):
        gx = onednn.conv2d_backward_data(gy, w, x_shape=x.shape, **geo)
        assert _is_nhwc(gx) or channels == 1
        np.testing.assert_allclose(gx, onednn.conv2d_backward_data(g, w, x_shape=x.shape, **geo),
                                   rtol=1e-6, atol=1e-6)  # fmt: skip
        for xin in (x, xn):
            gw, _ = onednn.conv2d_backward_weights(xin, gy, w_shape=w.shape, bias=False, **geo)
            want, _ = onednn.conv2d_backward_weights(x, g, w_shape=w.shape, bias=False, **geo)
            np.testing.assert_allclose(gw, want, rtol=1e-5, atol=1e-5)
    wt, bs = _rand(channels, seed=3), _rand(channels, seed=4)
    yn, mn, vn = onednn.batch_norm_train_forward(xn, wt, bs, eps=1e-5)
    yc, mc, vc = onednn.batch_norm_train_forward(x, wt, bs, eps=1e-5)
    assert _is_nhwc(yn) and yc.flags.c_contiguous  # each in its input's layout
    np.testing.assert_allclose(yn, yc, rtol=1e-5, atol=1e-5)
    gn = onednn.batch_norm_backward(_nhwc(x), xn, wt, mn, vn, eps=1e-5)
    gc = onednn.batch_norm_backward(x, x, wt, mc, vc, eps=1e-5)
    for a, b in zip(gn, gc):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    v = np.abs(vc) + 0.5
    np.testing.assert_allclose(onednn.batch_norm_inference(xn, wt, bs, mc, v, eps=1e-5),
                               onednn.batch_norm_inference(x, wt, bs, mc, v, eps=1e-5),
                               rtol=1e-5, atol=1e-5)  # fmt: skip
    r = onednn.relu_forward(xn)
    assert _is_nhwc(r)
    np.testing.assert_array_equal(r, onednn.relu_forward(x))
    np.testing.assert_array_equal(onednn.relu_backward(x, r), onednn.relu_backward(x, r.copy()))
    h = onednn.hardtanh_forward(xn, min_val=0.0, max_val=0.5)
    np.testing.assert_array_equal(h, np.clip(x, 0, 0.5))
    p, state = onednn.max_pool2d_forward(xn, dilation=(1, 1), **POOL)
    pc, statec = onednn.max_pool2d_forward(x, dilation=(1, 1), **POOL)
    assert _is_nhwc(p)
    np.testing.assert_array_equal(p, pc)
    gp = _rand(*p.shape, seed=5)
    np.testing.assert_array_equal(onednn.max_pool2d_backward(gp, state),
                                  onednn.max_pool2d_backward(gp, statec))  # fmt: skip
    a = onednn.avg_pool2d_forward(xn, count_include_pad=True, **POOL)
    np.testing.assert_allclose(a, onednn.avg_pool2d_forward(x, count_include_pad=True, **POOL),
                               rtol=1e-6, atol=1e-6)  # fmt: skip


class _Block(nn.Module):
    """conv-BN-ReLU twice, a residual add, a broadcast add, pools, a linear head."""

    def __init__(self, c=16, groups=1):  # groups=c: a depthwise conv2
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False, groups=groups)
        self.bn2 = nn.BatchNorm2d(c)
        self.bias = nn.Parameter(cnnlab.tensor(_rand(1, c, 1, 1, seed=9)))
        self.fc = nn.Linear(c * 4 * 4, 10)

    def forward(self, x):
        a = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(a)) + a)  # the residual: both NHWC
        out = F.max_pool2d(out + self.bias, 2)  # a broadcast add (NumPy keeps the layout)
        out = F.avg_pool2d(self.conv2(out), 2)
        return self.fc(out.flatten(1))


def _step(kern, model, x, y):
    with cnnlab.set_kernels(kern):
        for p in model.parameters():
            p.grad = None
        x.grad = None
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        grads = [p.grad.numpy().copy() for p in model.parameters()]
        return loss.item(), x.grad.numpy().copy(), grads


@pytest.mark.parametrize("groups", [1, 16])
def test_a_training_step_through_nhwc_arrays_matches_the_numpy_kernels(groups):
    cnnlab.manual_seed(0)
    model = _Block(groups=groups)
    x = cnnlab.tensor(_rand(4, 3, 16, 16, seed=8), requires_grad=True)
    y = cnnlab.tensor(np.array([1, 2, 3, 4]))
    loss_n, gx_n, gp_n = _step("numpy", model, x, y)
    loss_o, gx_o, gp_o = _step("onednn", model, x, y)
    assert abs(loss_n - loss_o) < 1e-4
    np.testing.assert_allclose(gx_o, gx_n, rtol=1e-3, atol=1e-4)
    for a, b in zip(gp_o, gp_n):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3 * max(1.0, np.abs(b).max()))


def test_results_are_ordinary_arrays_that_numpy_reads_as_nchw():
    conv, bn = nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16)
    x = cnnlab.tensor(_rand(2, 3, 8, 8))
    with cnnlab.set_kernels("onednn"):
        h = F.relu(bn(conv(x)))
    data = h.numpy()
    assert type(data) is np.ndarray and _is_nhwc(data) and data.shape == (2, 16, 8, 8)
    with cnnlab.set_kernels("numpy"):
        ref = F.relu(bn(conv(x))).numpy()
    np.testing.assert_allclose(data, ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(data[1, 5], ref[1, 5], rtol=1e-4, atol=1e-5)  # indexing too


def test_in_place_change_of_a_result_is_seen_by_the_next_op():
    conv1, conv2 = nn.Conv2d(3, 16, 3, padding=1), nn.Conv2d(16, 16, 3, padding=1)
    x = cnnlab.tensor(_rand(2, 3, 8, 8))
    with cnnlab.no_grad(), cnnlab.set_kernels("onednn"):
        h = conv1(x)
        h.mul_(0.0)
        out = conv2(h).numpy()
    expected = np.broadcast_to(conv2.bias.numpy().reshape(1, 16, 1, 1), out.shape)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_a_replacement_backward_reads_the_arrays_as_they_are():
    # guided backprop's ReLU backward reads ctx and g as arrays (cnnlab.override_backward)
    from cnnlab.ops.activation import ReLU

    conv1, conv2 = nn.Conv2d(3, 16, 3, padding=1), nn.Conv2d(16, 4, 3, padding=1)
    seen = []

    def guided(ctx, g):
        seen.append((type(ctx), type(g)))
        return (g * (ctx > 0) * (g > 0),)

    grads = {}
    for kern in ("numpy", "onednn"):
        x = cnnlab.tensor(_rand(1, 3, 8, 8), requires_grad=True)
        with cnnlab.set_kernels(kern), cnnlab.override_backward(ReLU, guided):
            conv2(F.relu(conv1(x))).sum().backward()
        grads[kern] = x.grad.numpy()
    assert all(c is np.ndarray and g is np.ndarray for c, g in seen)
    np.testing.assert_allclose(grads["onednn"], grads["numpy"], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("shape", [(8, 16), (8, 16, 5)])
def test_batch_norm_of_2d_and_3d_inputs_returns_arrays_of_their_shape(shape):
    x = cnnlab.tensor(_rand(*shape), requires_grad=True)
    bn = nn.BatchNorm1d(16)
    with cnnlab.set_kernels("onednn"):
        y = bn(x)
        assert y.shape == shape and y.numpy().flags.c_contiguous
        y.sum().backward()
    assert x.grad.shape == shape


def test_relu_after_training_batch_norm_keeps_nan():
    # PyTorch's ReLU keeps NaN; oneDNN's maps it to 0 (a diverged run must show NaN)
    x = _nhwc(_rand(4, 16, 8, 8))
    x[:, 3] = np.nan
    y, mean, _ = onednn.batch_norm_train_forward(x, _rand(16), _rand(16, seed=1), eps=1e-5)
    assert np.isnan(mean[3])
    r = onednn.relu_forward(y)
    assert _is_nhwc(r) and np.isnan(r[:, 3]).all() and not np.isnan(r[:, 2]).any()


def test_a_gradient_summed_from_two_layouts_is_the_sum():
    # the engine adds gradients with NumPy: an NHWC and an NCHW one add by shape
    conv = nn.Conv2d(3, 16, 3, padding=1)
    x = cnnlab.tensor(_rand(2, 3, 8, 8), requires_grad=True)
    with cnnlab.set_kernels("onednn"):
        h = conv(x)  # NHWC
        (F.relu(h) + h.contiguous() * 2).sum().backward()
        g_onednn = x.grad.numpy()
    x.grad = None
    with cnnlab.set_kernels("numpy"):
        h = conv(x)
        (F.relu(h) + h * 2).sum().backward()
    np.testing.assert_allclose(g_onednn, x.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("groups", [1, 2])
def test_channels_last_weights_are_read_as_they_lie(groups):
    # model.to(memory_format=channels_last) gives OHWI-strided weights: no copy per call
    x, w = _rand(2, 8, 6, 6), _rand(6, 8 // groups, 3, 3, seed=1)
    geo = {**GEO, "groups": groups}
    y = onednn.conv2d_forward(x, w, None, **geo)
    np.testing.assert_array_equal(onednn.conv2d_forward(x, _nhwc(w), None, **geo), y)
    g = _rand(*y.shape, seed=2)
    np.testing.assert_array_equal(
        onednn.conv2d_backward_data(g, _nhwc(w), x_shape=x.shape, **geo),
        onednn.conv2d_backward_data(g, w, x_shape=x.shape, **geo),
    )


def test_the_residual_add_runs_on_flat_buffers_in_their_layout():
    # 524k elements: oneDNN's whether its threads sleep or spin between kernels
    a, b = _nhwc(_rand(8, 16, 64, 64)), _nhwc(_rand(8, 16, 64, 64, seed=1))
    assert onednn.supports("add", a, b)
    y = onednn.add(a, b)
    assert _is_nhwc(y)
    np.testing.assert_array_equal(y, a + b)
    # mixed layouts, broadcasting and small arrays are NumPy's
    assert not onednn.supports("add", a, np.ascontiguousarray(b))
    assert not onednn.supports("add", a, _rand(1, 16, 1, 1))
    assert not onednn.supports("add", a[:1, :1], b[:1, :1])
    with pytest.raises(ValueError, match="differ in shape or layout"):
        onednn.add(a, np.ascontiguousarray(b))


def test_the_residual_add_gives_numpys_sums_on_two_threads_and_in_either_layout():
    import cnnlab

    a, b = _nhwc(_rand(9, 16, 64, 64)), _nhwc(_rand(9, 16, 64, 64, seed=1))
    before = cnnlab.get_num_threads()
    try:
        cnnlab.set_num_threads(2)
        y = onednn.add(a, b)
    finally:
        cnnlab.set_num_threads(before)
    assert _is_nhwc(y)
    np.testing.assert_array_equal(y, a + b)
    c = _rand(9, 16, 64, 64, seed=2)  # NCHW
    np.testing.assert_array_equal(onednn.add(c, c), c + c)


@pytest.mark.parametrize("shape", [(64, 32, 16, 16), (2, 3, 4, 5)])  # oneDNN's, NumPy's copy
def test_relayout_copies_between_nchw_and_nhwc_and_leaves_a_match_alone(shape):
    from cnnlab.kernels.onednn import constants, reorder

    x = _rand(*shape)
    to_nhwc = reorder.relayout(x, constants.TAG_NHWC)
    assert _is_nhwc(to_nhwc) and np.array_equal(to_nhwc, x)
    back = reorder.relayout(to_nhwc, constants.TAG_NCHW)
    assert back.flags.c_contiguous and np.array_equal(back, x)
    assert reorder.relayout(to_nhwc, constants.TAG_NHWC) is to_nhwc
    strided = x[:, :, ::2]  # neither layout: one NumPy copy
    np.testing.assert_array_equal(reorder.relayout(strided, constants.TAG_NHWC), strided)
    assert onednn.contiguous(to_nhwc).flags.c_contiguous
    assert onednn.supports("contiguous", to_nhwc) == (x.size >= reorder.SMALL)
    assert not onednn.supports("contiguous", x)  # already C order: nothing to reorder


def test_flattening_a_channels_last_image_gives_pytorchs_order_and_gradient():
    x = cnnlab.tensor(_nhwc(_rand(64, 32, 16, 16)), requires_grad=True)
    y = x.flatten(1)
    np.testing.assert_array_equal(y.numpy(), x.numpy().reshape(64, -1))
    g = _rand(64, 32 * 16 * 16, seed=1)
    y.backward(cnnlab.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), g.reshape(64, 32, 16, 16))
    z = x.reshape(64, 32, 16, 16)  # no copy where the memory allows a view
    assert np.shares_memory(z.numpy(), x.numpy())

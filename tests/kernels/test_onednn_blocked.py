"""Blocked-layout images between oneDNN ops: every kernel gives on a Blocked what it gives on
the NCHW array (exactly: reorders copy), the engine hands Blocked results only to ops that
take them, and everything else sees the same NCHW numbers as before."""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab import nn
from cnnlab.kernels import layout

onednn = pytest.importorskip("cnnlab.kernels.onednn")
pytestmark = pytest.mark.skipif(not onednn.available(), reason="oneDNN does not load here")

GEO = {"stride": (1, 1), "padding": (1, 1, 1, 1), "dilation": (1, 1), "groups": 1}
POOL = {"kernel": (2, 2), "stride": (2, 2), "padding": (0, 0, 0, 0), "ceil_mode": False}


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _blocked(x, c_out=None, seed=1, nhwc=False):
    """A Blocked image (the output of a 1x1 conv with identity-like weights would do; any
    conv output is one; ``nhwc``: in NHWC, as inference convs write) and its NCHW values."""
    c = x.shape[1] if c_out is None else c_out
    w = _rand(c, x.shape[1], 3, 3, seed=seed)
    b = onednn.conv2d_forward(x, w, None, blocked=True, channels_last=nhwc, **GEO)
    y = onednn.conv2d_forward(x, w, None, **GEO)
    assert layout.is_blocked(b) and (b.tag == onednn.constants.TAG_NHWC) == nhwc
    if nhwc:  # another kernel: equal to rounding; the tests compare against these values
        np.testing.assert_allclose(b.dense(), y, rtol=1e-5, atol=1e-4)
        y = b.dense()
    return b, y


@pytest.mark.parametrize("channels", [16, 32, 6, 20])  # 6, 20: padded last block
def test_conv_output_kept_blocked_is_the_nchw_output(channels):
    x = _rand(2, 3, 9, 8)
    b, y = _blocked(x, channels)
    assert layout.is_blocked(b) and b.shape == y.shape
    np.testing.assert_array_equal(b.dense(), y)
    np.testing.assert_array_equal(np.asarray(b), y)


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("nhwc", [False, True])
@pytest.mark.parametrize("channels", [16, 20])
def test_every_kernel_on_a_blocked_image_equals_nchw(channels, nhwc):
    x0 = _rand(2, 4, 8, 8)
    bx, x = _blocked(x0, channels, nhwc=nhwc)
    w = _rand(channels, channels, 3, 3, seed=2)
    same = np.testing.assert_array_equal

    def d(a):
        return layout.dense(a)

    # conv forward, both gradients (on NHWC the gradients run NHWC kernels: rounding)
    conv_same = _close if nhwc else same
    same(
        d(onednn.conv2d_forward(bx, w, None, blocked=True, **GEO)),
        onednn.conv2d_forward(x, w, None, **GEO),
    )
    bg, g = _blocked(_rand(2, 4, 8, 8, seed=3), channels, seed=4, nhwc=nhwc)
    gxb = onednn.conv2d_backward_data(bg, w, x_shape=x.shape, blocked=True, **GEO)
    assert (layout.tag(gxb) == onednn.constants.TAG_NHWC) == nhwc
    conv_same(d(gxb), onednn.conv2d_backward_data(g, w, x_shape=x.shape, **GEO))
    gw_b, _ = onednn.conv2d_backward_weights(bx, bg, w_shape=w.shape, bias=False, **GEO)
    gw, _ = onednn.conv2d_backward_weights(x, g, w_shape=w.shape, bias=False, **GEO)
    conv_same(gw_b, gw)
    # batch norm: training forward and backward, inference
    wt, bs = _rand(channels, seed=5), _rand(channels, seed=6)
    yb, mb, vb = onednn.batch_norm_train_forward(bx, wt, bs, eps=1e-5, blocked=True)
    y, m, v = onednn.batch_norm_train_forward(x, wt, bs, eps=1e-5)
    assert layout.is_blocked(yb)
    np.testing.assert_allclose(d(yb), y, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(mb, m, rtol=1e-5, atol=1e-6)
    gxb, gwb, gbb = onednn.batch_norm_backward(bg, bx, wt, m, v, eps=1e-5, blocked=True)
    gx, gw2, gb2 = onednn.batch_norm_backward(g, x, wt, m, v, eps=1e-5)
    np.testing.assert_allclose(d(gxb), gx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gwb, gw2, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(gbb, gb2, rtol=1e-4, atol=1e-3)
    v_pos = np.abs(v) + 0.5
    ib = onednn.batch_norm_inference(bx, wt, bs, m, v_pos, eps=1e-5, blocked=True)
    np.testing.assert_allclose(
        d(ib), onednn.batch_norm_inference(x, wt, bs, m, v_pos, eps=1e-5), rtol=1e-5, atol=1e-5
    )
    # the eval backward (statistics constant), in the blocked layout and on NCHW
    eb = onednn.batch_norm_inference_backward(bg, bx, wt, m, v_pos, eps=1e-5, blocked=True)
    en = onednn.batch_norm_inference_backward(g, x, wt, m, v_pos, eps=1e-5)
    assert layout.is_blocked(eb[0]) and not layout.is_blocked(en[0])
    for got, want in zip((d(eb[0]), *eb[1:]), en):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    # ReLU forward and backward: element-wise on the flat buffers
    rb = onednn.relu_forward(bx)
    assert layout.is_blocked(rb)
    same(d(rb), onednn.relu_forward(x))
    same(d(onednn.relu_backward(bg, rb)), onednn.relu_backward(g, onednn.relu_forward(x)))
    same(onednn.relu_backward(g, rb), onednn.relu_backward(g, onednn.relu_forward(x)))  # mixed
    # ReLU6 (hardtanh) alike
    h6 = {"min_val": 0.0, "max_val": 0.5}
    hb = onednn.hardtanh_forward(bx, **h6)
    assert layout.is_blocked(hb)
    same(d(hb), onednn.hardtanh_forward(x, **h6))
    hn = onednn.hardtanh_forward(x, **h6)
    same(d(onednn.hardtanh_backward(bg, hb, **h6)), onednn.hardtanh_backward(g, hn, **h6))
    # max and average pooling, forward and backward, in the image's layout
    pb, sb = onednn.max_pool2d_forward(bx, dilation=(1, 1), **POOL)
    p, s = onednn.max_pool2d_forward(x, dilation=(1, 1), **POOL)
    assert layout.is_blocked(pb)
    same(d(pb), p)
    gp = _rand(*p.shape, seed=7)
    same(d(onednn.max_pool2d_backward(gp, sb)), onednn.max_pool2d_backward(gp, s))
    ab = onednn.avg_pool2d_forward(bx, count_include_pad=True, **POOL)
    same(d(ab), onednn.avg_pool2d_forward(x, count_include_pad=True, **POOL))


class _Block(nn.Module):
    """conv-BN-ReLU twice, a residual add, a pool: every op that keeps the layout."""

    def __init__(self, c=16, groups=1):  # groups=c: a depthwise conv2, run on NHWC
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False, groups=groups)
        self.bn2 = nn.BatchNorm2d(c)
        self.bias = nn.Parameter(cnnlab.tensor(_rand(1, c, 1, 1, seed=9)))
        self.fc = nn.Linear(c * 4 * 4, 10)

    def forward(self, x):
        a = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(a)) + a)  # the residual: both blocked alike
        out = F.max_pool2d(out + self.bias, 2)  # a broadcast add: back to NCHW
        out = F.avg_pool2d(self.conv2(out), 2)
        return self.fc(out.flatten(1))


def _step(kern, model, x, y):
    with cnnlab.set_kernels(kern):
        for p in model.parameters():
            p.grad = None
        x.grad = None
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss.item(), x.grad.array.copy(), [p.grad.array.copy() for p in model.parameters()]


@pytest.mark.parametrize("groups", [1, 16])
def test_a_training_step_through_blocked_ops_matches_the_numpy_kernels(groups):
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


def test_results_are_blocked_inside_and_nchw_when_read():
    conv, bn = nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16)
    x = cnnlab.tensor(_rand(2, 3, 8, 8))
    with cnnlab.set_kernels("onednn"):
        h = F.relu(bn(conv(x)))
        assert layout.is_blocked(h._data)  # handed on in the blocked layout
        assert h.shape == (2, 16, 8, 8) and h.dtype == np.float32
        assert layout.is_blocked(h._data)  # shape and dtype do not convert it
        data = h.array
        assert type(data) is np.ndarray and not layout.is_blocked(h._data)
    with cnnlab.set_kernels("numpy"):
        ref = F.relu(bn(conv(x))).array
    np.testing.assert_allclose(data, ref, rtol=1e-4, atol=1e-5)


def test_in_place_change_of_a_blocked_result_is_seen_by_the_next_op():
    conv1, conv2 = nn.Conv2d(3, 16, 3, padding=1), nn.Conv2d(16, 16, 3, padding=1)
    x = cnnlab.tensor(_rand(2, 3, 8, 8))
    with cnnlab.no_grad():
        with cnnlab.set_kernels("onednn"):
            h = conv1(x)
            h.mul_(0.0)  # reads .array: the NCHW copy is the only one left
            out = conv2(h).array
    expected = np.broadcast_to(conv2.bias.array.reshape(1, 16, 1, 1), out.shape)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_a_replacement_backward_sees_plain_arrays():
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
        grads[kern] = x.grad.array
    assert all(c is np.ndarray and g is np.ndarray for c, g in seen)
    np.testing.assert_allclose(grads["onednn"], grads["numpy"], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("shape", [(8, 16), (8, 16, 5)])
def test_batch_norm_of_2d_and_3d_inputs_returns_plain_arrays(shape):
    # regression: the (N, C, L, 1) view's result came back blocked and could not be reshaped
    x = cnnlab.tensor(_rand(*shape), requires_grad=True)
    bn = nn.BatchNorm1d(16)
    with cnnlab.set_kernels("onednn"):
        y = bn(x)
        assert type(y._data) is np.ndarray and y.shape == shape
        y.sum().backward()
    assert x.grad.shape == shape


def test_blocked_images_add_as_flat_buffers_and_in_place():
    x = _rand(2, 3, 6, 6)
    a, da = _blocked(x, 20, seed=1)
    b, db = _blocked(x, 20, seed=2)
    s = layout.add(a, b)
    assert layout.is_blocked(s)
    np.testing.assert_allclose(s.dense(), da + db, rtol=1e-6, atol=1e-6)
    assert layout.add_(a, b) is a
    np.testing.assert_allclose(a.dense(), da + db, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(layout.add(a, db), da + 2 * db, rtol=1e-5, atol=1e-5)  # mixed
    c, _ = _blocked(x, 16)
    with pytest.raises(ValueError, match="Blocked.plus"):
        a.plus(c)


def test_relu_after_training_batch_norm_still_keeps_nan():
    # batch norm marks its result NaN-free only from finite statistics and parameters
    bx, x = _blocked(_rand(2, 3, 8, 8), 16)
    wt, bs = np.ones(16, np.float32), np.zeros(16, np.float32)
    y, _, _ = onednn.batch_norm_train_forward(bx, wt, bs, eps=1e-5, blocked=True)
    assert y.nan_free
    x[0, 3, 2, 2] = np.nan
    y, mean, _ = onednn.batch_norm_train_forward(x, wt, bs, eps=1e-5, blocked=True)
    assert np.isnan(mean[3]) and not y.nan_free
    assert np.isnan(onednn.relu_forward(y).dense()[:, 3]).all()
    bad_w = wt.copy()
    bad_w[5] = np.nan
    y, _, _ = onednn.batch_norm_train_forward(bx, bad_w, bs, eps=1e-5, blocked=True)
    assert not y.nan_free and np.isnan(onednn.relu_forward(y).dense()[:, 5]).all()


def test_inference_and_depthwise_convs_run_on_nhwc_and_training_ones_blocked():
    from cnnlab.kernels.onednn.constants import TAG_NHWC

    conv = nn.Conv2d(3, 16, 3, padding=1)
    dw = nn.Conv2d(16, 16, 3, padding=1, groups=16)
    x = cnnlab.tensor(_rand(2, 3, 8, 8))
    with cnnlab.no_grad():
        assert layout.tag(conv(x)._data) == TAG_NHWC  # inference: NHWC
    h = conv(x)  # training
    assert layout.is_blocked(h._data) and layout.tag(h._data) != TAG_NHWC
    g = dw(h)  # grouped: NHWC, and its gradients flow back through NHWC kernels
    assert layout.tag(g._data) == TAG_NHWC
    g.sum().backward()
    assert conv.weight.grad is not None and dw.weight.grad is not None


def test_a_sum_written_over_a_nan_free_image_is_no_longer_marked_nan_free():
    # the mark lets ReLU skip its NaN check; inf + -inf is NaN
    from cnnlab.kernels.onednn import blocked as bl

    x = _rand(2, 16, 4, 4)
    a, _ = _blocked(x, 16, seed=1)
    b, _ = _blocked(x, 16, seed=2)
    a.nan_free = True
    a.buf[0], b.buf[0] = np.inf, -np.inf
    s = a.plus(b, out=a)
    assert s is a and not a.nan_free
    assert np.isnan(layout.dense(onednn.relu_forward(s))).any()
    assert isinstance(s, bl.Blocked)

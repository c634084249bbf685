"""oneDNN convolution kernels against cnnlab's NumPy conv2d (forward and autograd backward)
and against PyTorch, over groups, strides, dilations, asymmetric padding and kernel sizes."""

import os

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab.kernels import onednn
from tests.helpers import requires_torch, seeded, torch

pytestmark = pytest.mark.skipif(
    not onednn.available(), reason=f"oneDNN kernels unavailable: {onednn.why_unavailable()}"
)

# (x shape, w shape, stride, padding (top, bottom, left, right), dilation, groups, bias)
CONV = [
    ((2, 3, 9, 8), (4, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, True),
    ((1, 3, 9, 8), (4, 3, 3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1, False),  # batch 1
    ((2, 4, 11, 9), (6, 2, 3, 3), (2, 1), (1, 0, 2, 1), (2, 1), 2, True),  # groups 2, asym
    ((2, 8, 7, 7), (8, 1, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 8, True),  # depthwise
    ((2, 6, 9, 10), (12, 1, 3, 3), (2, 2), (0, 1, 1, 0), (1, 1), 6, False),  # depthwise x2
    ((2, 5, 7, 6), (3, 5, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1, True),  # 1x1
    ((1, 4, 6, 7), (4, 4, 1, 1), (2, 2), (1, 0, 0, 1), (1, 1), 1, True),  # 1x1 stride 2
    ((2, 3, 13, 12), (5, 3, 5, 5), (1, 1), (2, 2, 2, 2), (1, 1), 1, True),  # 5x5
    ((2, 2, 15, 13), (3, 2, 5, 5), (2, 1), (0, 3, 1, 2), (2, 2), 1, True),  # 5x5 dil 2
    ((1, 1, 28, 28), (6, 1, 5, 5), (1, 1), (2, 2, 2, 2), (1, 1), 1, True),  # LeNet conv1
    ((3, 16, 8, 8), (32, 16, 3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1, False),  # ResNet down
    # one per branch of inner_tag's weight gradient (test_inner_layouts_...)
    ((2, 16, 7, 7), (16, 1, 5, 5), (1, 1), (2, 2, 2, 2), (1, 1), 16, False),  # depthwise 5x5
    ((2, 32, 10, 9), (8, 32, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, False),  # 32 in, 90 out
    ((2, 64, 10, 9), (8, 64, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, False),  # 64 in, 90 out
    ((2, 64, 16, 16), (8, 64, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, True),  # 64 in, 256 out
    ((2, 3, 6, 6), (64, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, True),  # 3 into 64
    # EfficientNet's last stages: a 5x5 depthwise kernel over a 3x3 image (AVX2: padded first)
    ((2, 24, 3, 3), (24, 1, 5, 5), (1, 1), (2, 2, 2, 2), (1, 1), 24, True),
]
IDS = [f"x{c[0]}-w{c[1]}-s{c[2]}-p{c[3]}-d{c[4]}-g{c[5]}" for c in CONV]


def _case(xs, ws, bias, seed=0):
    rng = seeded(seed)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32) * 0.3
    b = rng.standard_normal(ws[0]).astype(np.float32) if bias else None
    return x, w, b


def _ours(x, w, b, stride, padding, dilation, groups, gy_seed=1):
    """Forward and the three gradients of sum(c * y) from the oneDNN kernels."""
    a = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    y = onednn.conv2d_forward(x, w, b, **a)
    gy = seeded(gy_seed).standard_normal(y.shape).astype(np.float32)
    gx = onednn.conv2d_backward_data(gy, w, x_shape=x.shape, **a)
    gw, gb = onednn.conv2d_backward_weights(x, gy, w_shape=w.shape, bias=b is not None, **a)
    return y, gy, gx, gw, gb


def _close(a, b, what):
    scale = max(1.0, float(np.abs(b).max()))
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-5 * scale, err_msg=what)


@pytest.mark.parametrize("xs, ws, stride, padding, dilation, groups, bias", CONV, ids=IDS)
def test_conv_matches_cnnlab_numpy(xs, ws, stride, padding, dilation, groups, bias):
    x, w, b = _case(xs, ws, bias)
    y, gy, gx, gw, gb = _ours(x, w, b, stride, padding, dilation, groups)
    # reference: cnnlab's NumPy conv2d in float64, the padding made explicit by F.pad
    tx, tw = (cnnlab.tensor(a.astype(np.float64), requires_grad=True) for a in (x, w))
    tb = None if b is None else cnnlab.tensor(b.astype(np.float64), requires_grad=True)
    top, bottom, left, right = padding
    xp = F.pad(tx, (left, right, top, bottom))
    ref = F.conv2d(xp, tw, tb, stride=stride, dilation=dilation, groups=groups)
    (ref * cnnlab.tensor(gy.astype(np.float64))).sum().backward()
    _close(y, ref.numpy(), "forward")
    _close(gx, tx.grad, "input gradient")
    _close(gw, tw.grad, "weight gradient")
    if bias:
        _close(gb, tb.grad, "bias gradient")
    else:
        assert gb is None


@requires_torch
@pytest.mark.parametrize("xs, ws, stride, padding, dilation, groups, bias", CONV, ids=IDS)
def test_conv_matches_torch(xs, ws, stride, padding, dilation, groups, bias):
    x, w, b = _case(xs, ws, bias, seed=2)
    y, gy, gx, gw, gb = _ours(x, w, b, stride, padding, dilation, groups)
    tx, tw = (torch.tensor(a, requires_grad=True) for a in (x, w))
    tb = None if b is None else torch.tensor(b, requires_grad=True)
    top, bottom, left, right = padding
    xp = torch.nn.functional.pad(tx, (left, right, top, bottom))
    ref = torch.nn.functional.conv2d(xp, tw, tb, stride=stride, dilation=dilation, groups=groups)
    ref.backward(torch.tensor(gy))
    _close(y, ref.detach().numpy(), "forward")
    _close(gx, tx.grad.numpy(), "input gradient")
    _close(gw, tw.grad.numpy(), "weight gradient")
    if bias:
        _close(gb, tb.grad.numpy(), "bias gradient")


def test_inner_layouts_cover_each_choice():
    # the cases above run every primitive on both NHWC and oneDNN's blocked choice
    from cnnlab.kernels.onednn import constants as k
    from cnnlab.kernels.onednn.conv_plans import _out_hw, inner_tag

    def tags(xs, ws, stride, padding, dilation, groups, avx512=None):
        ys = (xs[0], ws[0], *_out_hw(xs, ws, stride, padding, dilation))
        return [
            inner_tag(which, xs, ws, groups, ys, avx512) for which in ("forward", "data", "weights")
        ]

    seen = {
        (which, tag)
        for xs, ws, stride, padding, dilation, groups, _ in CONV
        for which, tag in zip(
            ("forward", "data", "weights"), tags(xs, ws, stride, padding, dilation, groups)
        )
    }
    assert {("data", k.ANY), ("data", k.TAG_NHWC), ("weights", k.ANY)} <= seen
    assert ("weights", k.TAG_NHWC) in seen and ("forward", k.TAG_NHWC) in seen
    # the weight gradient's branches: 32 channels, 64 onto a small and onto a larger output;
    # blocked from 32 channels with AVX2's 8-channel blocks
    nhwc, blocked = k.TAG_NHWC, k.ANY
    for avx512, want in [
        (True, {(32, 10, 9): nhwc, (64, 10, 9): nhwc, (64, 16, 16): blocked}),
        (False, {(32, 10, 9): blocked, (64, 10, 9): blocked, (64, 16, 16): blocked}),
    ]:
        cases = {c[0][1:]: tags(*c[:6], avx512)[2] for c in CONV if c[0][1] >= 32 and c[5] == 1}
        assert cases == want, avx512
        few = [tags(*c[:6], avx512)[2] for c in CONV if c[0][1] == 16 or c[5] > 1]
        assert set(few) == {nhwc}, avx512  # 16 channels, depthwise: NHWC on both


def test_weight_gradient_on_an_image_padded_first(monkeypatch):
    # where oneDNN's kernel for the padded problem is its GEMM one, the plan pads x with
    # zeros first (conv_plans._weights_plan); forced here, whatever this machine's ISA picks
    from cnnlab.kernels.onednn import conv_plans, plan

    steps = conv_plans._weights_steps

    def gemm_unless_padded_first(x_shape, w_shape, bias, stride, padding, *rest):
        built = steps(x_shape, w_shape, bias, stride, padding, *rest)
        if any(padding):
            built.impl_name = "x64:gemm:jit"
        return built

    monkeypatch.setattr(conv_plans, "_weights_steps", gemm_unless_padded_first)
    monkeypatch.setattr(plan._local, "plans", type(plan._local.plans)())
    xs, ws, padding = (3, 8, 5, 4), (8, 1, 5, 3), (2, 1, 0, 2)
    x, w, b = _case(xs, ws, True)
    geo = {"stride": (2, 1), "padding": padding, "dilation": (1, 1), "groups": 8}
    built = conv_plans.weights_plan(xs, ws, True, **geo)
    assert built.pad_first == padding and built.x_shape == (3, 8, 8, 6)
    y, gy, gx, gw, gb = _ours(x, w, b, **geo)
    tx, tw = (cnnlab.tensor(a.astype(np.float64), requires_grad=True) for a in (x, w))
    ref = F.conv2d(F.pad(tx, (0, 2, 2, 1)), tw, stride=(2, 1), groups=8)
    (ref * cnnlab.tensor(gy.astype(np.float64))).sum().backward()
    _close(gw, tw.grad, "weight gradient")
    _close(gb, gy.sum(axis=(0, 2, 3)), "bias gradient")


def test_conv_results_are_fresh_arrays_and_plans_are_reused():
    x, w, b = _case((2, 3, 8, 8), (4, 3, 3, 3), True)
    a = {"stride": (1, 1), "padding": (1, 1, 1, 1), "dilation": (1, 1), "groups": 1}
    y1 = onednn.conv2d_forward(x, w, b, **a)
    y2 = onednn.conv2d_forward(x * 2, w, b, **a)  # same plan, new arrays
    assert y1 is not y2 and not np.shares_memory(y1, y2)
    np.testing.assert_allclose(
        y2 - b.reshape(1, -1, 1, 1), 2 * (y1 - b.reshape(1, -1, 1, 1)), rtol=1e-5, atol=1e-5
    )
    # a non-contiguous input is copied, not misread
    xt = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    np.testing.assert_array_equal(onednn.conv2d_forward(xt, w, b, **a), y1)


def test_conv_supports_and_errors():
    x, w, b = _case((2, 3, 8, 8), (4, 3, 3, 3), True)
    a = {"stride": (1, 1), "padding": (0, 0, 0, 0), "dilation": (1, 1), "groups": 1}
    assert onednn.supports("conv2d_forward", x, w, b, **a)
    assert not onednn.supports("conv2d_forward", x.astype(np.float64), w, b, **a)
    with pytest.raises(TypeError, match="conv2d_forward: x must be a float32"):
        onednn.conv2d_forward(x.astype(np.float64), w, b, **a)
    with pytest.raises(ValueError, match=r"convolution backward data .*expected gy of shape"):
        onednn.conv2d_backward_data(np.zeros((2, 4, 5, 5), np.float32), w, x_shape=x.shape, **a)
    big = {**a, "padding": (0, 0, 0, 0), "dilation": (5, 5)}  # kernel span 11 > 8
    assert not onednn.supports("conv2d_forward", x, w, b, **big)


def test_info_names_version_isa_and_one_openmp():
    i = onednn.info()
    assert i["available"] and i["version"].startswith("3.2")
    assert i["isa"] and i["threads"] >= 1
    # oneDNN and torch (when imported) share the one libgomp.so.1; wheels that bundle a
    # renamed copy (scikit-learn's libgomp-<hash>.so) add a separate runtime of their own
    shared = [p for p in i["openmp"] if os.path.basename(p).startswith("libgomp.so")]
    assert len(shared) == 1, i["openmp"]


def test_onednn_status_becomes_an_error_naming_the_primitive_and_shapes():
    x, w, _ = _case((2, 3, 8, 8), (4, 3, 3, 3), False)
    a = {"stride": (1, 1), "padding": (-2, 0, 0, 0), "dilation": (1, 1), "groups": 1}
    with pytest.raises(
        onednn.OneDNNError,
        match=r"convolution forward \(x \(2, 3, 8, 8\), w \(4, 3, 3, 3\).*invalid arguments",
    ):
        onednn.conv2d_forward(x, w, None, **a)
    assert not onednn.supports("conv2d_forward", x, w, None, **a)

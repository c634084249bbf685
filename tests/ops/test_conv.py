"""conv2d, conv1d, conv_transpose2d: loop references, float64 gradcheck, PyTorch parity."""

import numpy as np
import pytest

import cnnlab
from cnnlab.ops.conv import conv1d, conv2d, conv_transpose2d
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity

# (x shape, weight shape, kwargs, bias): each row is one configuration for every check below
CONV2D = [
    ((2, 3, 6, 7), (4, 3, 3, 3), {}, True),
    ((1, 2, 7, 6), (3, 2, 3, 3), {"stride": 2, "padding": 1}, False),
    ((2, 2, 8, 7), (2, 2, 2, 3), {"stride": 3, "padding": (1, 2)}, True),
    ((1, 2, 7, 7), (3, 2, 3, 1), {"padding": "same"}, True),
    ((1, 2, 6, 7), (2, 2, 2, 3), {"padding": "same", "dilation": (1, 2)}, True),  # odd pad
    ((2, 2, 5, 6), (3, 2, 2, 3), {"padding": "valid"}, False),
    ((1, 2, 9, 8), (2, 2, 3, 3), {"dilation": 2, "padding": 1}, True),
    ((1, 2, 9, 9), (2, 2, 3, 2), {"stride": 2, "dilation": (2, 1), "padding": (2, 0)}, True),
    ((2, 4, 5, 6), (6, 2, 3, 3), {"groups": 2, "padding": 1}, True),
    ((1, 4, 7, 7), (4, 2, 2, 3), {"groups": 2, "stride": 2}, False),
    ((2, 3, 6, 5), (3, 1, 3, 3), {"groups": 3, "padding": 1}, True),  # depthwise
    ((1, 2, 7, 6), (4, 1, 3, 3), {"groups": 2, "stride": (2, 1), "padding": "valid"}, True),
    ((2, 3, 5, 5), (4, 3, 1, 1), {}, True),  # 1x1
    ((1, 3, 5, 4), (2, 3, 1, 1), {"stride": 2, "padding": 2}, False),
    ((1, 1, 5, 5), (1, 1, 5, 5), {}, True),  # kernel == input
    # stride 1: rows share their padding columns (windows._shared_pad), every case of it
    ((3, 2, 6, 7), (3, 2, 3, 3), {"padding": 3}, True),  # padding beyond the span: 2 shared
    ((2, 2, 5, 7), (3, 2, 3, 4), {"padding": "same"}, True),  # left 1, right 2: 1 shared
    ((2, 2, 7, 6), (2, 2, 3, 3), {"padding": 2, "dilation": 2}, False),  # 2 shared
    ((1, 2, 5, 6), (2, 2, 2, 1), {"padding": 1}, True),  # width-1 kernel: none shared
]

CONV1D = [
    ((2, 3, 9), (4, 3, 3), {}, True),
    ((1, 2, 10), (3, 2, 2), {"stride": 3, "padding": 1}, False),
    ((2, 4, 9), (4, 2, 3), {"groups": 2, "dilation": 2, "padding": "same"}, True),
    ((1, 3, 8), (3, 1, 4), {"groups": 3, "padding": "same"}, True),
    ((2, 2, 7), (3, 2, 1), {"padding": "valid", "stride": 2}, True),
]

CONV_T = [
    ((2, 3, 4, 5), (3, 2, 3, 3), {}, True),
    ((1, 2, 4, 4), (2, 3, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}, True),
    ((1, 2, 3, 4), (2, 2, 2, 3), {"stride": (3, 2), "padding": (0, 1)}, False),
    ((2, 4, 3, 3), (4, 1, 3, 3), {"groups": 2, "stride": 2, "output_padding": (1, 0)}, True),
    ((1, 2, 4, 5), (2, 2, 3, 2), {"dilation": 2, "padding": 1, "output_padding": 1}, True),
    ((1, 3, 4, 4), (3, 1, 3, 3), {"groups": 3, "stride": 1, "padding": 1}, True),
    ((1, 2, 3, 3), (2, 3, 1, 1), {"stride": 2}, True),
]


def _arrays(xs, ws, bias, dtype=np.float64, bias_len=None, seed=0):
    rng = seeded(seed)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(bias_len or ws[0]).astype(dtype) if bias else None
    return x, w, b


# ---------------------------------------------------------------- plain loop references
def _pads(kw: dict, kernel, dilation):
    p = kw.get("padding", 0)
    if p == "valid":
        return [(0, 0), (0, 0)]
    if p == "same":
        tot = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return [(t // 2, t - t // 2) for t in tot]
    p = (p, p) if isinstance(p, int) else p
    return [(p[0], p[0]), (p[1], p[1])]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d_loops(x, w, b, **kw):
    stride, dil, groups = (
        _pair(kw.get("stride", 1)),
        _pair(kw.get("dilation", 1)),
        kw.get("groups", 1),
    )
    n, c, h, wd = x.shape
    o, cg, kh, kwd = w.shape
    (pt, pb), (pl, pr) = _pads(kw, (kh, kwd), dil)
    xp = np.zeros((n, c, h + pt + pb, wd + pl + pr))
    xp[:, :, pt : pt + h, pl : pl + wd] = x
    oh = (xp.shape[2] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (xp.shape[3] - dil[1] * (kwd - 1) - 1) // stride[1] + 1
    y = np.zeros((n, o, oh, ow))
    og = o // groups
    for ni in range(n):
        for oc in range(o):
            g = oc // og
            for i in range(oh):
                for j in range(ow):
                    acc = 0.0 if b is None else b[oc]
                    for ci in range(cg):
                        for u in range(kh):
                            for v in range(kwd):
                                hi, wj = i * stride[0] + u * dil[0], j * stride[1] + v * dil[1]
                                acc += xp[ni, g * cg + ci, hi, wj] * w[oc, ci, u, v]
                    y[ni, oc, i, j] = acc
    return y


def conv_transpose2d_loops(x, w, b, **kw):
    stride, dil, groups = (
        _pair(kw.get("stride", 1)),
        _pair(kw.get("dilation", 1)),
        kw.get("groups", 1),
    )
    pad, opad = _pair(kw.get("padding", 0)), _pair(kw.get("output_padding", 0))
    n, cin, h, wd = x.shape
    _, cg, kh, kwd = w.shape
    hp = (h - 1) * stride[0] + dil[0] * (kh - 1) + 1 + opad[0]
    wp = (wd - 1) * stride[1] + dil[1] * (kwd - 1) + 1 + opad[1]
    y = np.zeros((n, cg * groups, hp, wp))
    ig = cin // groups
    for ni in range(n):
        for ci in range(cin):
            g = ci // ig
            for i in range(h):
                for j in range(wd):
                    for co in range(cg):
                        for u in range(kh):
                            for v in range(kwd):
                                hi, wj = i * stride[0] + u * dil[0], j * stride[1] + v * dil[1]
                                y[ni, g * cg + co, hi, wj] += x[ni, ci, i, j] * w[ci, co, u, v]
    y = y[:, :, pad[0] : hp - pad[0], pad[1] : wp - pad[1]]
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def _call(fn, kw):
    return lambda x, w, b=None: fn(x, w, b, **kw)


# ------------------------------------------------------------------------------ conv2d
@pytest.mark.parametrize("xs,ws,kw,bias", CONV2D)
def test_conv2d_forward_matches_loops(xs, ws, kw, bias):
    x, w, b = _arrays(xs, ws, bias)
    y = conv2d(cnnlab.tensor(x), cnnlab.tensor(w), None if b is None else cnnlab.tensor(b), **kw)
    np.testing.assert_allclose(y.numpy(), conv2d_loops(x, w, b, **kw), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("xs,ws,kw,bias", CONV2D)
def test_conv2d_gradcheck(xs, ws, kw, bias):
    check_gradients(_call(conv2d, kw), list(_arrays(xs, ws, bias)))


@requires_torch
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("xs,ws,kw,bias", CONV2D)
def test_conv2d_torch_parity(xs, ws, kw, bias):
    arrays = list(_arrays(xs, ws, bias, np.float32))
    torch_parity(_call(conv2d, kw), _call(torch.nn.functional.conv2d, kw), arrays, atol=1e-5)


@requires_torch
def test_conv2d_weight_grad_only_when_input_is_constant():
    x, w, b = _arrays((2, 3, 9, 9), (4, 3, 3, 3), True, np.float32)
    kw = {"padding": 1}
    torch_parity(
        _call(conv2d, kw),
        _call(torch.nn.functional.conv2d, kw),
        [x, w, b],
        grad_inputs=[False, True, True],
    )


@requires_torch
@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_lenet_and_resnet_sizes_match_torch(stride):
    for xs, ws, pad in [((4, 1, 28, 28), (6, 1, 5, 5), 0), ((2, 16, 16, 16), (16, 16, 3, 3), 1)]:
        arrays = list(_arrays(xs, ws, True, np.float32))
        kw = {"stride": stride, "padding": pad}
        torch_parity(
            _call(conv2d, kw), _call(torch.nn.functional.conv2d, kw), arrays, rtol=1e-4, atol=1e-4
        )


@requires_torch
@pytest.mark.parametrize("pad, dil", [(1, 1), (3, 1), (2, 2), ((0, 2), 1)])
def test_conv2d_shared_padding_many_images_and_channels_match_torch(pad, dil):
    # 20 channels: dL/dx is the flipped-kernel convolution, with shared padding of its own;
    # 40 images of 5x6: several batch chunks, each with its padding shared between rows
    arrays = list(_arrays((40, 20, 5, 6), (18, 20, 3, 3), True, np.float32))
    kw = {"padding": pad, "dilation": dil}
    torch_parity(
        _call(conv2d, kw), _call(torch.nn.functional.conv2d, kw), arrays, rtol=1e-4, atol=1e-4
    )


def test_conv2d_with_10_filters_matches_loops():  # 10 -> 16 padded rows, then dropped
    x, w, b = _arrays((3, 2, 9, 8), (10, 2, 3, 3), True, np.float32)
    y = conv2d(cnnlab.tensor(x), cnnlab.tensor(w), cnnlab.tensor(b), padding=1)
    ref = conv2d_loops(*(a.astype(np.float64) for a in (x, w, b)), padding=1)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-5, atol=1e-5)


def test_conv2d_non_contiguous_input():
    x, w, _ = _arrays((2, 3, 6, 5), (2, 3, 3, 3), False)
    xt = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)  # same values
    y = conv2d(cnnlab.tensor(xt), cnnlab.tensor(w), padding=1)
    np.testing.assert_allclose(y.numpy(), conv2d_loops(x, w, None, padding=1), atol=1e-12)


def test_conv2d_keeps_float32():
    x, w, b = _arrays((1, 2, 5, 5), (3, 2, 3, 3), True, np.float32)
    xt, wt = cnnlab.tensor(x, requires_grad=True), cnnlab.tensor(w, requires_grad=True)
    y = conv2d(xt, wt, cnnlab.tensor(b), padding=1)
    y.sum().backward()
    assert y.dtype == np.float32 and xt.grad.dtype == np.float32 and wt.grad.dtype == np.float32


@requires_torch
def test_conv2d_mixed_dtypes_promote_to_float64():
    x, _, _ = _arrays((2, 2, 6, 6), (3, 2, 3, 3), False, np.float64)
    _, w, b = _arrays((2, 2, 6, 6), (3, 2, 3, 3), True, np.float32, seed=1)
    xt, wt = cnnlab.tensor(x, requires_grad=True), cnnlab.tensor(w, requires_grad=True)
    bt = cnnlab.tensor(b, requires_grad=True)
    y = conv2d(xt, wt, bt, padding=1)
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert xt.grad.dtype == np.float64 and wt.grad.dtype == np.float32
    assert bt.grad.dtype == np.float32
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w.astype(np.float64), requires_grad=True)
    tb = torch.tensor(b.astype(np.float64), requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, tw, tb, padding=1)
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(xt.grad, tx.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(wt.grad, tw.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "xs,ws,kw,msg",
    [
        ((3, 6, 6), (2, 3, 3, 3), {}, r"conv2d: expected a 4-D input .*got shape \(3, 6, 6\)"),
        ((1, 3, 6, 6), (2, 3, 3), {}, r"conv2d: expected a 4-D weight"),
        ((1, 4, 6, 6), (2, 3, 3, 3), {}, r"conv2d: expected input with 3 channels.*got 4"),
        ((1, 4, 6, 6), (2, 2, 3, 3), {}, r"conv2d: expected input with 2 channels.*groups=1"),
        ((1, 4, 6, 6), (3, 2, 3, 3), {"groups": 2}, r"out_channels \(3\).*groups \(2\)"),
        ((1, 3, 6, 6), (3, 1, 3, 3), {"groups": 0}, r"groups must be a positive int"),
        ((1, 3, 4, 4), (2, 3, 5, 5), {}, r"kernel size \(5, 5\).*input size \(4, 4\)"),
        ((1, 3, 4, 4), (2, 3, 3, 3), {"dilation": 2}, r"kernel size \(5, 5\)"),
        ((1, 3, 6, 6), (2, 3, 3, 3), {"padding": "same", "stride": 2}, r"'same' needs stride 1"),
        ((1, 3, 6, 6), (2, 3, 3, 3), {"padding": "full"}, r"padding must be 'same', 'valid'"),
        ((1, 3, 6, 6), (2, 3, 3, 3), {"padding": -1}, r"padding must be >= 0"),
        ((1, 3, 6, 6), (2, 3, 3, 3), {"stride": 0}, r"stride and dilation must be >= 1"),
        ((1, 3, 6, 6), (2, 3, 3, 3), {"stride": (1, 2, 3)}, r"stride must be an int or a tuple"),
    ],
)
def test_conv2d_errors(xs, ws, kw, msg):
    x, w, _ = _arrays(xs, ws, False)
    with pytest.raises(ValueError, match=msg):
        conv2d(cnnlab.tensor(x), cnnlab.tensor(w), **kw)


def test_conv2d_bias_shape_error():
    x, w, _ = _arrays((1, 3, 6, 6), (2, 3, 3, 3), False)
    with pytest.raises(ValueError, match=r"conv2d: expected bias of shape \(2,\), got \(3,\)"):
        conv2d(cnnlab.tensor(x), cnnlab.tensor(w), cnnlab.tensor(np.zeros(3)))


# ------------------------------------------------------------------------------ conv1d
def conv1d_loops(x, w, b, **kw):
    kw = dict(kw)
    for k in ("stride", "dilation"):
        if k in kw:
            kw[k] = (1, kw[k])
    if isinstance(kw.get("padding"), int):
        kw["padding"] = (0, kw["padding"])
    return conv2d_loops(x[:, :, None], w[:, :, None], b, **kw)[:, :, 0]


@pytest.mark.parametrize("xs,ws,kw,bias", CONV1D)
def test_conv1d_forward_matches_loops(xs, ws, kw, bias):
    x, w, b = _arrays(xs, ws, bias)
    y = conv1d(cnnlab.tensor(x), cnnlab.tensor(w), None if b is None else cnnlab.tensor(b), **kw)
    np.testing.assert_allclose(y.numpy(), conv1d_loops(x, w, b, **kw), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("xs,ws,kw,bias", CONV1D)
def test_conv1d_gradcheck(xs, ws, kw, bias):
    check_gradients(_call(conv1d, kw), list(_arrays(xs, ws, bias)))


@requires_torch
@pytest.mark.parametrize("xs,ws,kw,bias", CONV1D)
def test_conv1d_torch_parity(xs, ws, kw, bias):
    arrays = list(_arrays(xs, ws, bias, np.float32))
    torch_parity(_call(conv1d, kw), _call(torch.nn.functional.conv1d, kw), arrays)


@pytest.mark.parametrize(
    "xs,ws,kw,msg",
    [
        ((1, 3, 6, 6), (2, 3, 3), {}, r"conv1d: expected a 3-D input \(N, C, L\)"),
        ((1, 3, 6), (2, 3, 3, 3), {}, r"conv1d: expected a 3-D weight"),
        ((1, 3, 6), (2, 2, 3), {}, r"conv1d: expected input with 2 channels"),
        ((1, 3, 2), (2, 3, 3), {}, r"conv1d: dilated kernel size \(3,\)"),
        ((1, 3, 6), (2, 3, 3), {"stride": (1, 1)}, r"conv1d: stride must be an int or a tuple"),
    ],
)
def test_conv1d_errors(xs, ws, kw, msg):
    x, w, _ = _arrays(xs, ws, False)
    with pytest.raises(ValueError, match=msg):
        conv1d(cnnlab.tensor(x), cnnlab.tensor(w), **kw)


# -------------------------------------------------------------------- conv_transpose2d
def _t_arrays(xs, ws, kw, bias, dtype=np.float64):
    return _arrays(xs, ws, bias, dtype, bias_len=ws[1] * kw.get("groups", 1))


@pytest.mark.parametrize("xs,ws,kw,bias", CONV_T)
def test_conv_transpose2d_forward_matches_loops(xs, ws, kw, bias):
    x, w, b = _t_arrays(xs, ws, kw, bias)
    y = conv_transpose2d(
        cnnlab.tensor(x), cnnlab.tensor(w), None if b is None else cnnlab.tensor(b), **kw
    )
    ref = conv_transpose2d_loops(x, w, b, **kw)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("xs,ws,kw,bias", CONV_T)
def test_conv_transpose2d_gradcheck(xs, ws, kw, bias):
    check_gradients(_call(conv_transpose2d, kw), list(_t_arrays(xs, ws, kw, bias)))


@requires_torch
@pytest.mark.parametrize("xs,ws,kw,bias", CONV_T)
def test_conv_transpose2d_torch_parity(xs, ws, kw, bias):
    arrays = list(_t_arrays(xs, ws, kw, bias, np.float32))
    torch_parity(
        _call(conv_transpose2d, kw), _call(torch.nn.functional.conv_transpose2d, kw), arrays
    )


def test_conv_transpose2d_is_the_input_gradient_of_conv2d():
    x, w, _ = _arrays((2, 3, 7, 8), (4, 3, 3, 3), False)
    kw = {"stride": 2, "padding": 1, "dilation": 1}
    xt = cnnlab.tensor(x, requires_grad=True)
    y = conv2d(xt, cnnlab.tensor(w), **kw)
    g = seeded(3).standard_normal(y.shape)
    y.backward(cnnlab.tensor(g))
    back = conv_transpose2d(cnnlab.tensor(g), cnnlab.tensor(w), output_padding=(0, 1), **kw)
    np.testing.assert_allclose(back.numpy(), xt.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "xs,ws,kw,msg",
    [
        ((1, 3, 4, 4), (2, 2, 3, 3), {}, r"conv_transpose2d: expected input with 2 channels"),
        ((3, 4, 4), (3, 2, 3, 3), {}, r"conv_transpose2d: expected a 4-D input"),
        ((1, 3, 4, 4), (3, 2, 3, 3), {"groups": 2}, r"in_channels \(3\).*groups \(2\)"),
        (
            (1, 3, 4, 4),
            (3, 2, 3, 3),
            {"output_padding": 1},
            r"output_padding must be smaller than either stride or dilation",
        ),
        ((1, 3, 4, 4), (3, 2, 3, 3), {"stride": 2, "output_padding": 2}, r"output_padding"),
        ((1, 3, 1, 1), (3, 2, 1, 1), {"padding": 1}, r"output size \(-1, -1\) is too small"),
        ((1, 3, 4, 4), (3, 2, 3, 3), {"padding": "same"}, r"padding must be an int or a pair"),
    ],
)
def test_conv_transpose2d_errors(xs, ws, kw, msg):
    x, w, _ = _arrays(xs, ws, False)
    with pytest.raises(ValueError, match=msg):
        conv_transpose2d(cnnlab.tensor(x), cnnlab.tensor(w), **kw)


def test_functional_exports():
    import cnnlab.nn.functional as F

    assert F.conv2d is conv2d and F.conv1d is conv1d and F.conv_transpose2d is conv_transpose2d

"""oneDNN's convolution with post-ops (a residual add, ReLU, hardtanh): the same numbers as
the convolution followed by NumPy's add and activation, for NCHW and NHWC inputs and
addends, NaN kept where an input is not finite, and one clear error for a bad chain."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import seeded

onednn = pytest.importorskip("cnnlab.kernels.onednn")
pytestmark = pytest.mark.skipif(not onednn.available(), reason="oneDNN does not load here")

GEO = {"stride": (1, 1), "padding": (1, 1, 1, 1), "dilation": (1, 1), "groups": 1}
ACTS = {
    "none": ((), lambda y: y),
    "relu": ((("relu",),), lambda y: np.maximum(y, 0)),
    "relu6": ((("hardtanh", 0.0, 6.0),), lambda y: np.clip(y, 0, 6)),
}


def _case(c_out=20, groups=1):
    rng = seeded(0)
    x = rng.standard_normal((3, 8, 9, 7)).astype(np.float32) * 2
    w = (rng.standard_normal((c_out, 8 // groups, 3, 3)) * 0.5).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32)
    return x, w, b


@pytest.mark.parametrize(
    "act, add", [(a, d) for a in ACTS for d in (False, True) if d or a != "none"]
)
@pytest.mark.parametrize("x_nhwc, addend_nhwc", [(False, False), (True, True), (True, False),
                                                (False, True)])  # fmt: skip
def test_post_ops_equal_the_ops_one_by_one(act, add, x_nhwc, addend_nhwc):
    x, w, b = _case()
    post, fn = ACTS[act]
    y = onednn.conv2d_forward(x, w, b, **GEO)
    addend = seeded(1).standard_normal(y.shape).astype(np.float32) * 3
    want = fn(y + addend if add else y)
    xin = _nhwc(x) if x_nhwc else x
    extra = {}
    if add:
        post = (("add",), *post)
        extra["addend"] = _nhwc(addend) if addend_nhwc else addend
    got = onednn.conv2d_forward(xin, w, b, **GEO, post=post, **extra)
    assert _is_nhwc(got)  # the convolution writes channels last
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def _nhwc(a):
    """``a`` with NHWC strides (the same values)."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def _is_nhwc(a):
    return a.transpose(0, 2, 3, 1).flags.c_contiguous and not a.flags.c_contiguous


def test_depthwise_with_relu6():
    x, w, b = _case(c_out=8, groups=8)
    geo = {**GEO, "groups": 8}
    want = np.clip(onednn.conv2d_forward(x, w, b, **geo), 0, 6)
    got = onednn.conv2d_forward(x, w, b, **geo, post=(("hardtanh", 0.0, 6.0),))
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("where", ["x", "w", "b", "addend"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("at", [3, -1])
def test_an_input_that_is_not_finite_gives_what_the_ops_give(where, bad, at):
    # oneDNN's post-op ReLU maps NaN to 0: the plan's row sums of x, w and the addend (b is
    # small: NumPy checks it) send such inputs down the exact path (conv, add, ReLU)
    x, w, b = _case()
    y0 = onednn.conv2d_forward(x, w, b, **GEO)
    addend = np.zeros_like(y0)
    arrays = {"x": x.copy(), "w": w.copy(), "b": b.copy(), "addend": addend}
    arrays[where].flat[at] = bad
    want = onednn.relu_forward(
        onednn.conv2d_forward(arrays["x"], arrays["w"], arrays["b"], **GEO) + arrays["addend"]
    )
    got = onednn.conv2d_forward(
        arrays["x"], arrays["w"], arrays["b"], **GEO, post=(("add",), ("relu",)),
        addend=arrays["addend"],
    )  # fmt: skip
    assert np.isnan(want).any() or np.isinf(want).any()
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("post", [(("relu",), ("add",)), (("gelu",),), (("add",), ("add",))])
def test_a_bad_chain_is_one_clear_error(post):
    x, w, b = _case()
    with pytest.raises(ValueError, match="post must be"):
        onednn.conv2d_forward(x, w, b, **GEO, post=post, addend=np.zeros((3, 20, 9, 7)))


def test_the_addend_must_come_with_add_and_match_the_output():
    x, w, b = _case()
    with pytest.raises(ValueError, match="addend is needed exactly when"):
        onednn.conv2d_forward(x, w, b, **GEO, post=(("relu",),), addend=np.zeros((3, 20, 9, 7)))
    with pytest.raises(ValueError, match=r"addend \(3, 20, 9, 6\), output \(3, 20, 9, 7\)"):
        onednn.conv2d_forward(
            x, w, b, **GEO, post=(("add",),), addend=np.zeros((3, 20, 9, 6), np.float32)
        )


def test_a_plain_addend_goes_into_the_outputs_layout_and_a_jit_kernel():
    # regression: a plain NCHW addend (ResNet's option-A shortcut) with the output in another
    # layout got oneDNN's reference kernel, 1.2 s instead of about 1 ms per conv
    from cnnlab.kernels.onednn import conv

    x, w, b = _case(c_out=32)
    y = onednn.conv2d_forward(x, w, b, **GEO)
    addend = seeded(2).standard_normal(y.shape).astype(np.float32)
    post = (("add",), ("relu",))
    got = onednn.conv2d_forward(x, w, b, **GEO, post=post, addend=addend)
    np.testing.assert_allclose(got, np.maximum(y + addend, 0), rtol=1e-5, atol=1e-5)
    plan = conv.forward_plan_for(x, w, b, post=post, addend=addend, **GEO)
    assert plan is not None and not plan.impl_name.startswith("ref"), plan.impl_name

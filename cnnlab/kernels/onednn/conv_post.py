"""What a forward convolution may apply to its output as it writes it: oneDNN's post-ops.

For inference (cnnlab.ops.conv_fused): a residual add, then ReLU or hardtanh (ReLU6), in the
same pass as the convolution. :func:`conv2d_forward <cnnlab.kernels.onednn.conv.conv2d_forward>`
takes ``post``; this module checks the chain, builds the attributes, and runs the chain one
step at a time where the fused kernel would be wrong (inputs that are not finite: oneDNN's
post-op ReLU maps NaN to 0; the plan's row sums of the inputs show it) or slow (oneDNN has
only its reference kernel for it).
"""

from __future__ import annotations

from cnnlab.kernels.onednn import constants as k
from cnnlab.kernels.onednn import eltwise
from cnnlab.kernels.onednn.library import check
from cnnlab.kernels.onednn.plan import Plan

# In order: ("add",) adds an image of the output's shape (a residual), then ("relu",) or
# ("hardtanh", lo, hi) (ReLU6: 0, 6). Inference only: nothing is kept for a backward.
_ACTIVATIONS = {"relu": k.ELTWISE_RELU, "hardtanh": k.ELTWISE_CLIP_V2}


def check_post(post) -> tuple:
    """``post`` as a tuple, or a ValueError saying what is allowed."""
    post = tuple(tuple(p) for p in post)
    names = [p[0] for p in post]
    ok = names in ([], ["add"]) or (
        names[-1] in _ACTIVATIONS and names[:-1] in ([], ["add"]) and len(post[-1]) in (1, 3)
    )
    if not ok:
        raise ValueError(
            "conv2d_forward: post must be (), an activation (('relu',) or ('hardtanh', lo, "
            f"hi)), ('add',), or ('add',) then an activation; got {post!r}"
        )
    return post


def attributes(plan: Plan, post: tuple, y_shape, addend_tag) -> tuple:
    """Primitive attributes carrying ``post`` and the arguments its ``add`` reads."""
    lib = plan.lib
    ops = plan._new("post_ops", lib.dnnl_post_ops_create)
    args = {}
    for i, op in enumerate(post):
        if op[0] == "add":
            md = plan.md(y_shape, addend_tag)
            check(lib.dnnl_post_ops_append_binary(ops, k.BINARY_ADD, md), f"{plan.what}: add")
            args[k.POST_OP_BASE * (i + 1) + k.ARG_SRC_1] = plan.user("addend", md)
        else:
            lo, hi = (float(op[1]), float(op[2])) if op[0] == "hardtanh" else (0.0, 0.0)
            status = lib.dnnl_post_ops_append_eltwise(ops, _ACTIVATIONS[op[0]], lo, hi)
            check(status, f"{plan.what}: {op[0]}")
    attr = plan.new_attr()
    check(lib.dnnl_primitive_attr_set_post_ops(attr, ops), f"{plan.what}: set_post_ops")
    return attr, args


SLOW_CHAINS: set = set()  # configurations whose post-op chain oneDNN runs slowly or not at all


def step_by_step(x, w, b, post, addend, geo):
    """conv2d_forward's post-ops one at a time (NaN kept where an input is not finite)."""
    from cnnlab.kernels.onednn.conv import conv2d_forward

    y = conv2d_forward(x, w, b, **geo)
    if addend is not None:
        y += addend  # y is the convolution's new array: NHWC stays NHWC
    op = post[-1]
    if op[0] == "add":
        return y
    if op[0] == "relu":
        return eltwise.relu_forward(y)
    return eltwise.hardtanh_forward(y, min_val=op[1], max_val=op[2])

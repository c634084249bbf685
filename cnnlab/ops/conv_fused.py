"""A convolution with what follows it fused in, for inference: ``act(conv2d(x, W, b) + r)``.

The maths is conv2d's (:mod:`cnnlab.ops.conv`), then an optional residual ``r`` of the
output's shape, then an optional ReLU or hardtanh (ReLU6), exactly as the three ops would
compute it one after the other. :func:`cnnlab.kernels.conv2d_forward` takes the chain as
``post``: the oneDNN kernels do all of it as the convolution writes its output (no pass of
its own for the add or the activation), the other kernels run the three steps.
``cnnlab.nn.fusion.ConvAct2d`` calls this under ``no_grad`` only, so there is no backward.
"""

from __future__ import annotations

from cnnlab import kernels
from cnnlab.autograd import Function

__all__ = ["FusedConv2d"]

ACTIVATIONS = ("relu", "hardtanh")


class FusedConv2d(Function):
    """``act(conv2d(x, w, b) + addend)``; ``addend`` may be None, ``act`` is None,
    ``("relu",)`` or ``("hardtanh", min_val, max_val)``. padding: (top, bottom, left, right)."""

    takes_needs_input_grad = True

    @staticmethod
    def forward(x, w, b, addend, *, stride, padding, dilation, groups, act, needs_input_grad):
        if any(needs_input_grad):
            raise RuntimeError("FusedConv2d is inference only: call it under cnnlab.no_grad()")
        if act is not None and act[0] not in ACTIVATIONS:
            raise ValueError(f"FusedConv2d: act must be relu or hardtanh, got {act!r}")
        geo = {
            "stride": tuple(stride),
            "padding": tuple(padding),
            "dilation": tuple(dilation),
            "groups": groups,
        }
        post = ((("add",),) if addend is not None else ()) + ((tuple(act),) if act else ())
        return kernels.conv2d_forward(x, w, b, **geo, post=post, addend=addend), None

    @staticmethod
    def backward(ctx, g):  # pragma: no cover - forward refuses to run with gradients
        raise RuntimeError("FusedConv2d is inference only")

"""Which image layout each oneDNN convolution primitive runs on inside one call: NHWC as
the caller's arrays lie, or oneDNN's own channel-blocked choice with the reorders in the
call. Measured per convolution (``python -m benchmarks.conv_layouts``, which patches
``conv_plans.inner_tag`` to time the choices)."""

from __future__ import annotations

from cnnlab.kernels.onednn import constants as k
from cnnlab.kernels.onednn.library import avx512 as _avx512

__all__ = ["inner_tag"]

NHWC = k.TAG_NHWC
FEW_CHANNELS = 16


def inner_tag(which: str, x_shape, w_shape, groups: int, y_shape, avx512=None) -> int:
    """The image layout the ``which`` primitive (``forward``, ``data``, ``weights``) runs on:
    NHWC (no reorder), or oneDNN's own choice (ANY: channel-blocked, the caller's NHWC
    reordered in and out inside the call). ``avx512``: whether oneDNN runs its AVX-512
    kernels (None: ask it), which changes the weight gradient's choice.

    Measured 2026-12-07 on two threads of an AVX-512 EPYC, nothing else running, wall ms of
    each convolution call of one training step (``python -m benchmarks.conv_layouts --only
    W --threads 2 --wall``, the choices' calls interleaved, median of 15-40), NHWC against
    ANY: the forward NHWC everywhere (fashion_cnn 4.1 against 5.1 ms per step); the input
    gradient NHWC (fashion_cnn 3.4 against 5.1) except where the input has under 16
    channels (LeNet-5's second conv, 6 channels: measured on one thread, 0.44 against 0.70
    on ANY); the weight gradient NHWC (ResNet-20 21.6 against 27.9 ms per step, its 64
    channels on 8 x 8 1.11-1.15 against 1.33-1.39 each; fashion_cnn's 64 into 128 on 7 x 7
    1.87 against 2.24; EfficientNet-Lite0 31.9 against 106.6, whose depthwise convolutions
    oneDNN's ANY runs on a generic kernel) except for 64 or more input channels onto outputs
    of 16 x 16 or more (VGG-style's 64 channels on 32 x 32: 26.3 against 31.2; 64 into 128
    on 16 x 16: 11.6 against 12.2) and for an image of under 4 channels into 64 or more
    (VGG-style's first conv: 2.7 against 5.4). One thread had favoured ANY from 32 or 64
    channels whatever the output's size (ResNet-20's last stage 3.2 against 3.4-3.6 ms, CPU
    time): on the two threads a user runs, the reorders inside the call cost more.

    Measured the same way 2026-12-07 on two threads of an AVX2 EPYC (oneDNN's kernels
    there block channels by 8): the forward and the input gradient choose as above
    (ResNet-20 108 and 109 ms per step NHWC against 142 and 124 ANY; LeNet-5's second input
    gradient 0.73 ANY against 1.16), but the weight gradient runs faster blocked from 32
    input channels whatever the output's size: ResNet-20's 32 channels on 16 x 16 7.3-8.0
    against 8.3-9.8, its 64 on 8 x 8 7.0-7.6 against 8.2-9.3, fashion_cnn's 32 and 64 11.5
    and 11.8 against 12.9 and 12.9; 16 channels stay NHWC (ResNet-20 8.2-9.5 against
    9.0-10.9), as do 1x1 kernels, which go either way by layer in EfficientNet-Lite0.
    """
    c, o = x_shape[1], w_shape[0]
    if which == "forward":
        return NHWC
    if which == "data":
        return k.ANY if c < FEW_CHANNELS and groups == 1 else NHWC
    if groups != 1 or w_shape[2] * w_shape[3] == 1:
        return NHWC
    if c < 4 and o >= 64:
        return k.ANY
    if _avx512() if avx512 is None else avx512:
        large_out = y_shape[2] * y_shape[3] >= 256
        return k.ANY if c >= 64 and large_out else NHWC
    return k.ANY if c >= 32 else NHWC

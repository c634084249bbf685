"""The reference kernels: the textbook NumPy forward and backward of each heavy op, one
screen each, the derivative in a comment above each backward.

This is what a student reads, what ``cnnlab.set_kernels("reference")`` runs, and what the
fast backends are tested against. Every function takes ``xp = get_array_module(x)``, so the
same code runs on CuPy arrays. Arrays are NCHW; padding is (top, bottom, left, right).
"""

from cnnlab.kernels.reference.conv import (
    conv2d_backward_data,
    conv2d_backward_weights,
    conv2d_forward,
    im2col,
)
from cnnlab.kernels.reference.linalg import matmul
from cnnlab.kernels.reference.memory import contiguous
from cnnlab.kernels.reference.norm import (
    batch_norm_backward,
    batch_norm_inference,
    batch_norm_inference_backward,
    batch_norm_train_forward,
)
from cnnlab.kernels.reference.pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
    max_pool2d_indices,
    max_pool2d_inference,
)
from cnnlab.kernels.reference.relu import (
    add,
    hardtanh_backward,
    hardtanh_forward,
    relu_backward,
    relu_forward,
)

__all__ = [
    "add",
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "batch_norm_backward",
    "batch_norm_inference",
    "batch_norm_inference_backward",
    "batch_norm_train_forward",
    "conv2d_backward_data",
    "conv2d_backward_weights",
    "contiguous",
    "conv2d_forward",
    "hardtanh_backward",
    "hardtanh_forward",
    "matmul",
    "im2col",
    "max_pool2d_backward",
    "max_pool2d_forward",
    "max_pool2d_indices",
    "max_pool2d_inference",
    "relu_backward",
    "relu_forward",
]

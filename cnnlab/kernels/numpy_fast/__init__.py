"""The fast NumPy kernels: the cache-blocked, threaded engine (the ``numpy`` backend).

The same function set as :mod:`cnnlab.kernels.reference`, tested against it; the path where
oneDNN is not available (macOS, ARM, Windows) and for float64. The batch is split over
:mod:`cnnlab.threads`, which holds OpenBLAS to one thread while the pool runs.
"""

from cnnlab.kernels.numpy_fast.conv import (
    conv2d_backward_data,
    conv2d_backward_weights,
    conv2d_forward,
)
from cnnlab.kernels.numpy_fast.linalg import matmul
from cnnlab.kernels.numpy_fast.norm import (
    batch_norm_backward,
    batch_norm_inference,
    batch_norm_inference_backward,
    batch_norm_train_forward,
)
from cnnlab.kernels.numpy_fast.pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
    max_pool2d_indices,
    max_pool2d_inference,
)
from cnnlab.kernels.numpy_fast.relu import (
    add,
    hardtanh_backward,
    hardtanh_forward,
    relu_backward,
    relu_forward,
)
from cnnlab.kernels.reference.memory import contiguous  # NumPy's own copy

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
    "max_pool2d_backward",
    "max_pool2d_forward",
    "max_pool2d_indices",
    "max_pool2d_inference",
    "relu_backward",
    "relu_forward",
]

"""The PyTorch-style functional API (``import cnnlab.nn.functional as F``).

Thin by design: each name is an op from ``cnnlab.ops`` or a short composite of ops.
"""

from cnnlab.ops.shape import flatten, pad  # noqa: F401

# --- conv: conv1d, conv2d, conv_transpose2d ---
# --- pool: max_pool2d, max_unpool2d, avg_pool2d, adaptive_avg_pool2d ---
# --- activation: relu, leaky_relu, relu6, elu, sigmoid, tanh, softmax, log_softmax ---
# --- linear, dropout, interpolate ---
# --- norm: batch_norm ---
# --- loss: cross_entropy, nll_loss, mse_loss, binary_cross_entropy_with_logits ---

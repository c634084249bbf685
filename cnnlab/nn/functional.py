"""The PyTorch-style functional API (``import cnnlab.nn.functional as F``).

Thin by design: each name is an op from ``cnnlab.ops`` or a short composite of ops.
"""

from cnnlab.ops.activation import (  # noqa: F401
    elu,
    gelu,
    hardtanh,
    leaky_relu,
    log_softmax,
    prelu,
    relu,
    relu6,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from cnnlab.ops.adaptive_pool import adaptive_avg_pool2d, adaptive_max_pool2d  # noqa: F401
from cnnlab.ops.conv import conv1d, conv2d, conv_transpose2d  # noqa: F401
from cnnlab.ops.loss import (  # noqa: F401
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    nll_loss,
)
from cnnlab.ops.misc import dropout, dropout2d, interpolate, linear  # noqa: F401
from cnnlab.ops.norm import (  # noqa: F401
    batch_norm,
    instance_norm,
    layer_norm,
    local_response_norm,
)
from cnnlab.ops.pool import (  # noqa: F401
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
    max_unpool2d,
)
from cnnlab.ops.recurrent import (  # noqa: F401
    gru,
    gru_cell,
    gru_layer,
    lstm,
    lstm_cell,
    lstm_layer,
    recurrent,
    rnn,
    rnn_cell,
    rnn_layer,
)
from cnnlab.ops.shape import flatten, pad  # noqa: F401

"""Layers: the standard layer checks for every layer, input validation with one clear
line, and reprs and state_dict keys that match PyTorch's."""

import numpy as np
import pytest

import cnnlab
from cnnlab import nn
from tests.helpers import requires_torch, torch
from tests.nn.layer_check import run_layer_test

_rng = np.random.default_rng(0)
_LOGITS = _rng.standard_normal((6, 5)).astype(np.float32)
_LABELS = np.array([0, 4, 2, 1, 3, 2])
_PROBS = _rng.random((6, 5)).astype(np.float32)

# (factory, input shape or inputs, expected output shape, expected parameter count)
LAYERS = {
    "conv1d": (lambda: nn.Conv1d(3, 4, 3, padding=1), (2, 3, 7), (2, 4, 7), 4 * 3 * 3 + 4),
    "conv2d": (lambda: nn.Conv2d(3, 16, 3), (2, 3, 8, 8), (2, 16, 6, 6), 448),
    "conv2d_5x5": (lambda: nn.Conv2d(8, 16, 5), (1, 8, 9, 9), (1, 16, 5, 5), 3216),
    "conv2d_strided_nobias": (
        lambda: nn.Conv2d(4, 6, (3, 1), stride=2, padding=(1, 0), groups=2, bias=False),
        (2, 4, 7, 5),
        (2, 6, 4, 3),
        6 * 2 * 3 * 1,
    ),
    "conv_transpose2d": (
        lambda: nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1),
        (2, 4, 5, 5),
        (2, 3, 10, 10),
        4 * 3 * 9 + 3,
    ),
    "max_pool2d": (lambda: nn.MaxPool2d(2), (2, 3, 6, 6), (2, 3, 3, 3), 0),
    "max_pool2d_ceil": (lambda: nn.MaxPool2d(3, 2, ceil_mode=True), (1, 2, 6, 6), (1, 2, 3, 3), 0),
    "avg_pool2d": (lambda: nn.AvgPool2d(2, padding=1), (2, 3, 6, 6), (2, 3, 4, 4), 0),
    "adaptive_avg_pool2d": (lambda: nn.AdaptiveAvgPool2d((1, 1)), (2, 3, 5, 7), (2, 3, 1, 1), 0),
    "adaptive_max_pool2d": (lambda: nn.AdaptiveMaxPool2d(2), (2, 3, 5, 7), (2, 3, 2, 2), 0),
    "max_pool2d_unbatched": (lambda: nn.MaxPool2d(2), (3, 6, 6), (3, 3, 3), 0),
    "hardtanh": (lambda: nn.Hardtanh(-0.5, 0.5), (4, 5), (4, 5), 0),
    "silu": (lambda: nn.SiLU(), (4, 5), (4, 5), 0),
    "gelu": (lambda: nn.GELU(approximate="tanh"), (4, 5), (4, 5), 0),
    "relu": (lambda: nn.ReLU(inplace=True), (4, 5), (4, 5), 0),
    "leaky_relu": (lambda: nn.LeakyReLU(0.2), (4, 5), (4, 5), 0),
    "relu6": (lambda: nn.ReLU6(), (4, 5), (4, 5), 0),
    "elu": (lambda: nn.ELU(0.5), (4, 5), (4, 5), 0),
    "sigmoid": (lambda: nn.Sigmoid(), (4, 5), (4, 5), 0),
    "tanh": (lambda: nn.Tanh(), (4, 5), (4, 5), 0),
    "softmax": (lambda: nn.Softmax(dim=1), (4, 5), (4, 5), 0),
    "log_softmax": (lambda: nn.LogSoftmax(dim=-1), (4, 5), (4, 5), 0),
    "linear": (lambda: nn.Linear(20, 10), (4, 20), (4, 10), 210),
    "linear_3d_nobias": (lambda: nn.Linear(6, 2, bias=False), (3, 4, 6), (3, 4, 2), 12),
    "flatten": (lambda: nn.Flatten(), (2, 3, 4, 5), (2, 60), 0),
    "identity": (lambda: nn.Identity(54, unused=1), (2, 3), (2, 3), 0),
    "dropout": (lambda: nn.Dropout(0.3), (8, 16), (8, 16), 0),
    "dropout2d": (lambda: nn.Dropout2d(0.3), (4, 8, 3, 3), (4, 8, 3, 3), 0),
    "batch_norm1d": (lambda: nn.BatchNorm1d(5), (8, 5), (8, 5), 10),
    "batch_norm1d_3d": (lambda: nn.BatchNorm1d(3, momentum=None), (4, 3, 6), (4, 3, 6), 6),
    "batch_norm2d": (lambda: nn.BatchNorm2d(4), (3, 4, 5, 5), (3, 4, 5, 5), 8),
    "batch_norm2d_nobias": (lambda: nn.BatchNorm2d(4, bias=False), (3, 4, 5, 5), (3, 4, 5, 5), 4),
    "batch_norm2d_noaffine": (
        lambda: nn.BatchNorm2d(4, affine=False),
        (3, 4, 5, 5),
        (3, 4, 5, 5),
        0,
    ),
    "upsample_scale": (lambda: nn.Upsample(scale_factor=2), (1, 2, 3, 4), (1, 2, 6, 8), 0),
    "upsample_size": (
        lambda: nn.Upsample(size=(5, 7), mode="bilinear", align_corners=False),
        (1, 2, 3, 4),
        (1, 2, 5, 7),
        0,
    ),
    "layer_norm": (lambda: nn.LayerNorm((4, 5)), (3, 4, 5), (3, 4, 5), 40),
    "layer_norm_nobias": (lambda: nn.LayerNorm(5, bias=False), (3, 5), (3, 5), 5),
    "instance_norm2d": (lambda: nn.InstanceNorm2d(4, affine=True), (2, 4, 5, 5), (2, 4, 5, 5), 8),
    "instance_norm1d": (lambda: nn.InstanceNorm1d(3), (3, 6), (3, 6), 0),
    "local_response_norm": (lambda: nn.LocalResponseNorm(3), (2, 5, 4, 4), (2, 5, 4, 4), 0),
    "prelu": (lambda: nn.PReLU(3), (2, 3, 4), (2, 3, 4), 3),
    "softplus": (lambda: nn.Softplus(2.0), (4, 5), (4, 5), 0),
    "max_pool1d": (lambda: nn.MaxPool1d(3, 2, 1), (2, 3, 9), (2, 3, 5), 0),
    "avg_pool1d": (lambda: nn.AvgPool1d(2), (3, 8), (3, 4), 0),
    "cross_entropy": (lambda: nn.CrossEntropyLoss(), (_LOGITS, _LABELS), (), 0),
    "cross_entropy_weighted": (
        lambda: nn.CrossEntropyLoss(weight=np.linspace(0.5, 2, 5).astype(np.float32)),
        (_LOGITS, _LABELS),
        (),
        0,
    ),
    "nll": (lambda: nn.NLLLoss(reduction="sum"), (_LOGITS, _LABELS), (), 0),
    "mse": (lambda: nn.MSELoss(), (_LOGITS, _PROBS), (), 0),
    "mse_none": (lambda: nn.MSELoss(reduction="none"), (_LOGITS, _PROBS), (6, 5), 0),
    "bce_with_logits": (lambda: nn.BCEWithLogitsLoss(), (_LOGITS, _PROBS), (), 0),
    "bce": (lambda: nn.BCELoss(), (_PROBS, _PROBS), (), 0),
}


@pytest.mark.parametrize("key", list(LAYERS))
def test_layer(key):
    factory, inp, out_shape, n_params = LAYERS[key]
    shape, inputs = (inp, None) if isinstance(inp[0], int) else (None, inp)
    run_layer_test(
        factory(),
        shape,
        inputs=inputs,
        expected_output_shape=out_shape,
        expected_num_params=n_params,
        factory=factory,
    )


# ------------------------------------------------------------------- bad input shapes
@pytest.mark.parametrize(
    "layer, shape, expected",
    [
        (nn.Conv2d(3, 16, 3), (8, 1, 28, 28), "(N, 3, H, W)"),
        (nn.Conv2d(3, 16, 3), (3, 28, 28), "(N, 3, H, W)"),
        (nn.Conv1d(2, 4, 3), (8, 3, 10), "(N, 2, L)"),
        (nn.ConvTranspose2d(4, 2, 2), (1, 2, 5, 5), "(N, 4, H, W)"),
        (nn.Linear(784, 10), (8, 100), "(*, 784)"),
        (nn.BatchNorm2d(16), (8, 8, 4, 4), "(N, 16, H, W)"),
        (nn.BatchNorm2d(16), (8, 16), "(N, 16, H, W)"),
        (nn.BatchNorm1d(6), (8, 5), "(N, 6) or (N, 6, L)"),
        (nn.MaxPool2d(2), (8, 10), "(N, C, H, W) or (C, H, W)"),
    ],
)
def test_bad_input_names_layer_expected_and_actual(layer, shape, expected):
    with pytest.raises(ValueError) as info:
        layer(cnnlab.zeros(*shape))
    msg = str(info.value)
    assert msg.startswith(layer._describe()), msg
    assert expected in msg and str(shape) in msg, msg


def test_bad_input_message_example():
    with pytest.raises(ValueError) as info:
        nn.Conv2d(3, 16, 3)(cnnlab.zeros(8, 1, 28, 28))
    assert str(info.value) == (
        "Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1)): expected input of shape "
        "(N, 3, H, W), got (8, 1, 28, 28)"
    )


def test_bad_configuration():
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="p must be"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="exactly one"):
        nn.Upsample()


# ------------------------------------------------------------------ PyTorch parity
@requires_torch
@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.Conv2d(3, 16, 3),
        lambda m: m.Conv2d(3, 16, (3, 5), stride=2, padding=1, bias=False),
        lambda m: m.Conv2d(4, 8, 3, dilation=2, groups=2),
        lambda m: m.Conv1d(3, 4, 5, padding=2),
        lambda m: m.ConvTranspose2d(4, 3, 4, stride=2, padding=1),
        lambda m: m.MaxPool2d(2),
        lambda m: m.MaxPool2d(3, 2, 1, ceil_mode=True),
        lambda m: m.AvgPool2d(2),
        lambda m: m.AdaptiveAvgPool2d((1, 1)),
        lambda m: m.ReLU(inplace=True),
        lambda m: m.LeakyReLU(0.2),
        lambda m: m.ELU(),
        lambda m: m.Hardtanh(-2.0, 3.0),
        lambda m: m.ReLU6(),
        lambda m: m.SiLU(),
        lambda m: m.GELU(),
        lambda m: m.AdaptiveMaxPool2d((2, 3)),
        lambda m: m.Softmax(dim=1),
        lambda m: m.Linear(20, 10),
        lambda m: m.Linear(20, 10, bias=False),
        lambda m: m.Flatten(),
        lambda m: m.Dropout(0.3),
        lambda m: m.BatchNorm1d(5),
        lambda m: m.BatchNorm2d(16, momentum=None, affine=False),
        lambda m: m.BatchNorm2d(4, bias=False),
        lambda m: m.Upsample(scale_factor=2),
        lambda m: m.Upsample(size=(4, 4), mode="bilinear"),
        lambda m: m.Sequential(m.Conv2d(1, 2, 3), m.ReLU()),
        lambda m: m.LayerNorm((4, 5), eps=1e-4),
        lambda m: m.LayerNorm(6, bias=False),
        lambda m: m.InstanceNorm2d(4, affine=True),
        lambda m: m.InstanceNorm1d(3),
        lambda m: m.LocalResponseNorm(5, alpha=0.1),
        lambda m: m.PReLU(3),
        lambda m: m.Softplus(2.0, 10.0),
        lambda m: m.MaxPool1d(3, 2, 1),
        lambda m: m.AvgPool1d(2),
    ],
)
def test_repr_and_state_dict_keys_match_torch(make):
    a, b = make(nn), make(torch.nn)
    assert repr(a) == repr(b)
    sd_ours, sd_torch = a.state_dict(), b.state_dict()
    assert list(sd_ours) == list(sd_torch)
    for k in sd_torch:
        assert sd_ours[k].shape == tuple(sd_torch[k].shape), k
        assert sd_ours[k].dtype == sd_torch[k].numpy().dtype, k

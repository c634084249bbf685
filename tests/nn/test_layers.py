"""Layers: the standard layer checks for every layer, PyTorch weight/repr compatibility,
train/eval behaviour, input validation, hooks and dtype conversion."""

from collections import OrderedDict

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


INIT_LAYERS = {  # name -> (cnnlab layer, torch layer) built with the same arguments
    "linear_784_512": lambda m: m.Linear(784, 512),
    "linear_64_10": lambda m: m.Linear(64, 10),
    "conv2d_64_128_3": lambda m: m.Conv2d(64, 128, 3),
    "conv2d_grouped": lambda m: m.Conv2d(16, 32, 5, groups=4),
    "conv1d_8_16_7": lambda m: m.Conv1d(8, 16, 7),
    "conv_transpose2d": lambda m: m.ConvTranspose2d(32, 16, 4, stride=2),
}


@requires_torch
@pytest.mark.parametrize("name", INIT_LAYERS)
def test_default_init_has_torchs_statistics(name):
    """kaiming_uniform_(a=sqrt(5)) weights and U(+-1/sqrt(fan_in)) biases, as PyTorch's."""
    ours = INIT_LAYERS[name](nn)
    torch.manual_seed(0)
    theirs = INIT_LAYERS[name](torch.nn)
    assert ours.weight.dtype == np.float32
    shape = tuple(theirs.weight.shape)
    bound = 1 / np.sqrt(shape[1] * np.prod(shape[2:]))  # 1/sqrt(fan_in), weight and bias
    for key in ("weight", "bias"):
        a = getattr(ours, key).numpy()
        b = getattr(theirs, key).detach().numpy()
        assert a.shape == b.shape and np.abs(b).max() <= bound
        assert np.abs(a).max() <= bound * (1 + 1e-6), f"{key} exceeds torch's range"
        assert a.std() == pytest.approx(b.std(), rel=0.1 if a.size > 500 else 0.4), key
        if a.size > 500:
            assert a.std() == pytest.approx(bound / np.sqrt(3), rel=0.05), key


def test_default_init_bounds_and_other_layers():
    lin = nn.Linear(784, 512)
    bound = 1 / np.sqrt(784)  # kaiming_uniform_(a=sqrt(5)): gain sqrt(1/3) * sqrt(3/fan_in)
    assert lin.weight.array.std() == pytest.approx(bound / np.sqrt(3), rel=0.01)  # 0.0206
    assert np.abs(lin.bias.numpy()).max() <= bound and lin.bias.numpy().std() > 0.5 * bound
    assert nn.Linear(500, 300, dtype=np.float64).weight.dtype == np.float64
    bn = nn.BatchNorm2d(3)
    assert np.all(bn.weight.array == 1) and np.all(bn.bias.array == 0)
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.shape == ()


def test_conv_and_linear_seeded():
    cnnlab.manual_seed(7)
    a = nn.Conv2d(2, 3, 3).weight.array.copy()
    cnnlab.manual_seed(7)
    np.testing.assert_array_equal(nn.Conv2d(2, 3, 3).weight.array, a)


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


# ----------------------------------------------------------------- train/eval behaviour
def test_dropout_train_and_eval():
    layer = nn.Dropout(0.25)
    x = cnnlab.ones(200, 100)
    y = layer(x).numpy()
    kept = y != 0
    assert abs(1 - kept.mean() - 0.25) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())


def test_batchnorm_train_and_eval():
    bn = nn.BatchNorm2d(3, momentum=0.1)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 3, 4, 4)) * np.array([2, 3, 4])[None, :, None, None] + 5
    x = x.astype(np.float32)
    y = bn(cnnlab.tensor(x)).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=(0, 2, 3)), 1, atol=1e-3)
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3), ddof=1)  # running var: unbiased
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * var, rtol=1e-5)
    assert bn.num_batches_tracked.item() == 1
    bn(cnnlab.tensor(x))
    assert bn.num_batches_tracked.item() == 2

    bn.eval()
    rm, rv = bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()
    y = bn(cnnlab.tensor(x)).numpy()
    ref = (x - rm[None, :, None, None]) / np.sqrt(rv[None, :, None, None] + bn.eps)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    assert bn.num_batches_tracked.item() == 2  # eval leaves the statistics alone
    np.testing.assert_array_equal(bn.running_mean.numpy(), rm)

    bn.reset_running_stats()
    assert bn.num_batches_tracked.item() == 0 and np.all(bn.running_var.numpy() == 1)


def test_batchnorm_cumulative_and_untracked():
    bn = nn.BatchNorm1d(2, momentum=None)
    a = np.array([[1, 2], [3, 4]], np.float32)
    b = np.array([[5, 6], [7, 10]], np.float32)
    bn(cnnlab.tensor(a))
    bn(cnnlab.tensor(b))
    np.testing.assert_allclose(bn.running_mean.numpy(), (a.mean(0) + b.mean(0)) / 2)
    free = nn.BatchNorm1d(2, track_running_stats=False)
    assert "running_mean" not in free.state_dict() and free.running_mean is None
    free.eval()
    y = free(cnnlab.tensor(a)).numpy()  # no running stats: batch statistics even in eval
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-6)


# ------------------------------------------------------------------ other behaviour
def test_pool_indices_and_unpool():
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    x = cnnlab.tensor(np.random.default_rng(0).standard_normal((1, 2, 4, 4)).astype(np.float32))
    y, idx = pool(x)
    assert y.shape == idx.shape == (1, 2, 2, 2)
    z = unpool(y, idx).numpy()
    assert z.shape == (1, 2, 4, 4) and (z != 0).sum() == 8
    np.testing.assert_array_equal(np.sort(z[z != 0]), np.sort(y.numpy().ravel()))


def test_conv_transpose_output_size():
    layer = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1)
    x = cnnlab.zeros(1, 2, 4, 4)
    assert layer(x).shape == (1, 2, 7, 7)
    assert layer(x, output_size=(8, 8)).shape == (1, 2, 8, 8)
    with pytest.raises(ValueError, match="not reachable"):
        layer(x, output_size=(10, 10))


def test_softmax_legacy_dim():
    x = cnnlab.tensor(np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32))
    np.testing.assert_allclose(nn.Softmax()(x).numpy().sum(axis=1), 1, rtol=1e-6)


def _small_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(8 * 4 * 4, 5),
    )


def test_hooks_capture_feature_maps():
    model = _small_cnn()
    maps = {}
    handles = [
        m.register_forward_hook(lambda mod, inp, out, name=name: maps.__setitem__(name, out))
        for name, m in model.named_modules()
        if name
    ]
    model(cnnlab.zeros(2, 3, 8, 8))
    assert maps["0"].shape == (2, 8, 8, 8) and maps["3"].shape == (2, 8, 4, 4)
    assert maps["5"].shape == (2, 5)
    for h in handles:
        h.remove()
    maps.clear()
    model(cnnlab.zeros(2, 3, 8, 8))
    assert maps == {}


def test_double_converts_parameters_and_buffers_and_matches_float32_output():
    model = _small_cnn()
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8))
    y32 = model(cnnlab.tensor(x.astype(np.float32))).numpy()
    model.double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model[1].running_mean.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64
    model[1].num_batches_tracked.array[...] = 0
    y64 = model(cnnlab.tensor(x))
    assert y64.dtype == np.float64
    np.testing.assert_allclose(y64.numpy(), y32, rtol=1e-4, atol=1e-4)


def test_state_dict_errors_with_real_layers():
    model = _small_cnn()
    other = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    with pytest.raises(nn.StateDictError) as info:
        other.load_state_dict(model.state_dict())
    msg = str(info.value)
    assert "size mismatch for 0.weight" in msg and "(8, 3, 3, 3)" in msg and "(4, 3, 3, 3)" in msg
    assert "'5.weight'" in msg and "Unexpected" in msg and "1.running_var" in msg


# ------------------------------------------------------------------- PyTorch parity
class _TorchCNN(torch.nn.Module if torch is not None else object):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1),
            torch.nn.BatchNorm2d(8),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
        )
        self.classifier = torch.nn.Linear(8 * 4 * 4, 5)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class _CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2)
        )
        self.classifier = nn.Linear(8 * 4 * 4, 5)

    def forward(self, x):
        return self.classifier(cnnlab.flatten(self.features(x), 1))


@requires_torch
def test_torch_state_dict_loads_and_matches_outputs():
    torch.manual_seed(0)
    ref = _TorchCNN()
    with torch.no_grad():  # non-trivial running stats and affine parameters
        ref.features[1].running_mean.uniform_(-1, 1)
        ref.features[1].running_var.uniform_(0.5, 2)
        ref.features[1].weight.uniform_(0.5, 1.5)
        ref.features[1].bias.uniform_(-0.5, 0.5)
    model = _CNN()
    assert list(model.state_dict()) == list(ref.state_dict())
    model.load_state_dict(ref.state_dict())  # torch tensors, key for key
    x = np.random.default_rng(0).standard_normal((4, 3, 8, 8)).astype(np.float32)

    ref.eval()
    model.eval()
    with torch.no_grad():
        expected = ref(torch.tensor(x)).numpy()
    np.testing.assert_allclose(model(cnnlab.tensor(x)).numpy(), expected, rtol=1e-4, atol=1e-5)

    ref.train()
    model.train()
    xt, xc = torch.tensor(x, requires_grad=True), cnnlab.tensor(x, requires_grad=True)
    out_t, out_c = ref(xt), model(xc)
    np.testing.assert_allclose(out_c.numpy(), out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    for k, v in ref.state_dict().items():  # running stats updated the same way
        np.testing.assert_allclose(
            model.state_dict()[k], v.numpy(), rtol=1e-5, atol=1e-6, err_msg=k
        )
    out_t.sum().backward()
    out_c.sum().backward()
    for (name, p), (tname, tp) in zip(model.named_parameters(), ref.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


@requires_torch
def test_parameter_requiring_grad_loads_from_torch_module():
    lin = torch.nn.Linear(3, 2)
    ours = nn.Linear(3, 2)
    ours.load_state_dict(OrderedDict(lin.named_parameters()))  # tensors that require grad
    np.testing.assert_array_equal(ours.weight.numpy(), lin.weight.detach().numpy())


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


@requires_torch
def test_bce_loss_matches_torch_with_weight_and_gradchecks():
    from tests.helpers import torch_parity

    rng = np.random.default_rng(7)
    p = rng.uniform(0.05, 0.95, (4, 3))
    t, w = rng.integers(0, 2, (4, 3)).astype(np.float32), rng.random(3).astype(np.float32)
    for reduction in ("mean", "sum", "none"):
        torch_parity(
            lambda x, r=reduction: nn.BCELoss(weight=cnnlab.tensor(w), reduction=r)(
                x, cnnlab.tensor(t)
            ),
            lambda x, r=reduction: torch.nn.BCELoss(weight=torch.tensor(w), reduction=r)(
                x, torch.tensor(t)
            ),
            [p.astype(np.float32)],
        )
    t64 = cnnlab.tensor(t.astype(np.float64))
    assert cnnlab.gradcheck(lambda x: nn.BCELoss()(x, t64), [cnnlab.tensor(p)])

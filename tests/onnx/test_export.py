"""``cnnlab.onnx.export``: every zoo model, checked by onnxruntime and by loading it back at
two batch sizes, on random and real inputs; the graph's form (names, metadata, symbolic
batch, inference batch norm)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab import models, nn
from cnnlab.onnx import export
from tests.onnx.conftest import run_onnxruntime
from tests.trained import fashion_data, fashion_model

# one of each family in the default run; the deeper CIFAR nets (same ops, 4-5 s each on a
# shared 2-core machine) and the 224x224 ImageNet nets with the slow tests
SMALL = [
    "alexnet_small",
    "dcgan_discriminator",
    "dcgan_generator",
    "dilated_fcn",
    "fashion_cnn",
    "fashion_cnn_large",
    "lenet5",
    "lstm_rows",
    "plain20",
    "resnet20",
    "unet_small",
    "vgg11_bn_cifar",
]
# the captioners take images and words: exported as encoder + one step in
# tests/models/test_caption_export.py
CAPTIONERS = [n for n in models.names() if models.info(n)["task"] == "caption"]
BIG = [n for n in models.names() if n not in SMALL and n not in CAPTIONERS]
TOL = 1e-4


def ours(model, x: np.ndarray) -> np.ndarray:
    with cnnlab.no_grad():
        return model(cnnlab.tensor(x)).numpy()


def check_zoo_model(exported, name: str) -> None:
    """onnxruntime, and the file loaded back by cnnlab (a round trip), within 1e-4 of cnnlab,
    or, where float32 rounding alone moves the outputs more (cnnlab float32 against cnnlab
    float64: the deep plain nets, whose outputs a 1e-6 change of the input moves by 1e-3 to
    0.1), within 4 times that rounding error; the round trip keeps every state_dict value
    (under its own key, but for recurrent layers: ONNX holds them as one node per layer and
    direction, loaded as ``<node>.layer``)."""
    from cnnlab.onnx import load

    model, path = exported(name)
    loaded = load(path)
    shape = models.info(name)["input_shape"]
    other = 5 if shape[1] < 100 else 3  # 224x224 images are costly on two cores
    for batch in (2, other):  # 2 as traced, the other through the symbolic batch dimension
        x = np.random.default_rng(batch).random((batch, *shape), dtype=np.float32)
        ref = ours(model, x)
        for who, got in (("onnxruntime", run_onnxruntime(path, x)), ("load", ours(loaded, x))):
            assert got.shape == ref.shape and got.shape[0] == batch
            diff = float(np.abs(got - ref).max())
            if diff > TOL:
                exact = ours(copy.deepcopy(model).double(), x.astype(np.float64))
                rounding = float(np.abs(ref - exact).max())
                assert diff <= max(TOL, 4 * rounding), (
                    f"{name}: {who} differs by {diff:.3g}, float32 rounding by {rounding:.3g}"
                )
    theirs = loaded.state_dict()
    unnamed = [v for k, v in theirs.items() if ".layer." in k]  # loaded recurrent layers
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):  # training bookkeeping, not in a graph
            continue
        if key in theirs:
            np.testing.assert_array_equal(theirs[key], value, err_msg=f"{name}: {key}")
        else:
            same = [v.shape == value.shape and np.array_equal(v, value) for v in unnamed]
            assert any(same), f"{name}: {key} is not among the loaded values"


@pytest.mark.parametrize("name", SMALL)
def test_small_zoo_model_matches_onnxruntime_at_two_batch_sizes(exported, name):
    check_zoo_model(exported, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", BIG)
def test_big_zoo_model_matches_onnxruntime_at_two_batch_sizes(exported, name):
    check_zoo_model(exported, name)


@pytest.mark.slow
def test_pretrained_efficientnet_lite0_matches_onnxruntime_on_the_coffee_photo(tmp_path):
    from tests.attacks.test_coffee import ESPRESSO, coffee

    try:
        model = models.create("efficientnet_lite0", pretrained=True).eval()
    except (FileNotFoundError, OSError, RuntimeError, ValueError) as e:
        pytest.skip(f"EfficientNet-Lite0 weights unavailable: {e}")
    noise = np.random.default_rng(0).random((2, 3, 224, 224), dtype=np.float32)
    export(model, noise, tmp_path / "e.onnx", class_names=[str(i) for i in range(1000)])
    x = np.concatenate([coffee(224), noise[:1]])  # a real photo and a random image
    got, ref = run_onnxruntime(tmp_path / "e.onnx", x), ours(model, x)
    np.testing.assert_allclose(got, ref, atol=TOL, rtol=0)
    assert got[0].argmax() == ref[0].argmax() == ESPRESSO


def test_trained_lenet_on_real_fashion_mnist_images_matches_onnxruntime(tmp_path):
    model = fashion_model()
    x, y = fashion_data(train=False, n=300)
    export(model, x[:2], tmp_path / "lenet.onnx")
    for batch in (x[:7], x):  # two batch sizes, neither the traced one
        got, ref = run_onnxruntime(tmp_path / "lenet.onnx", batch), ours(model, batch)
        np.testing.assert_allclose(got, ref, atol=TOL, rtol=0)
    assert (got.argmax(1) == ref.argmax(1)).all()
    assert (ref.argmax(1) == y).mean() > 0.7  # a trained model, not noise


def test_graph_has_names_symbolic_batch_metadata_and_inference_batch_norm(tmp_path):
    import onnx

    model = models.create("fashion_cnn")
    x = np.zeros((2, 1, 28, 28), np.float32)
    proto = export(
        model,
        x,
        tmp_path / "f.onnx",
        input_names=["image"],
        output_names=["logits"],
        class_names=["a", "b"],
    )
    onnx.checker.check_model(onnx.load(str(tmp_path / "f.onnx")), full_check=True)
    (inp,), (out,) = proto.graph.input, proto.graph.output
    assert (inp.name, out.name) == ("image", "logits")
    assert inp.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert out.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert [d.dim_value for d in inp.type.tensor_type.shape.dim[1:]] == [1, 28, 28]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["class_names"]) == ["a", "b"]
    ops = [n.op_type for n in proto.graph.node]
    assert "BatchNormalization" in ops and "Dropout" not in ops
    inits = {i.name for i in proto.graph.initializer}
    bn = next(n for n in proto.graph.node if n.op_type == "BatchNormalization")
    assert all(name in inits for name in bn.input[1:])
    assert any(name.endswith("running_mean") for name in bn.input)
    assert set(dict(model.named_parameters())) <= inits  # parameters keep their names
    assert model.training  # export restores the model's mode


def test_no_batch_size_is_baked_into_reshapes(exported):
    import onnx

    _, path = exported("lenet5")
    proto = onnx.load(str(path))
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
    reshapes = [n for n in proto.graph.node if n.op_type == "Reshape"]
    assert reshapes or any(n.op_type == "Flatten" for n in proto.graph.node)
    for n in reshapes:
        assert inits[n.input[1]][0] in (0, -1), f"{n.name} bakes in {inits[n.input[1]]}"


class Functional(nn.Module):
    """Ops zoo models do not use: slicing, padding, concat, scalars, softmax, GELU ..."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding="same")
        self.up = nn.ConvTranspose2d(6, 2, 2, stride=2)

    def forward(self, x):
        h = self.conv(x)
        h = cnnlab.cat([h[:, :2], F.silu(h[:, 2:]), F.gelu(h[:, :1]), F.elu(-h[:, 1:2])], 1)
        h = cnnlab.pad(h, (1, 0, 0, 2), value=0.5)
        h = F.avg_pool2d(h, 3, stride=2, padding=1, count_include_pad=False)
        h = F.max_pool2d(h, 2, stride=1, padding=1, dilation=2)
        h = F.relu6(self.up(h) * 2.0 - 1.0) / 3.0 + x.mean(dim=(1, 2, 3), keepdim=True)
        h = h.permute(0, 2, 3, 1).sum(dim=1)  # (N, W, C)
        h = F.leaky_relu(h, 0.1).sigmoid() + h.tanh().abs().clamp(0.1, 0.9)
        return F.log_softmax(h.reshape(h.shape[0], -1), dim=1) + F.softmax(h, dim=-1).amax()


def test_functional_ops_match_onnxruntime(tmp_path):
    model = Functional()
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 10), dtype=np.float32)
    export(model, x, tmp_path / "f.onnx")
    x3 = np.random.default_rng(1).standard_normal((3, 3, 9, 10), dtype=np.float32)
    np.testing.assert_allclose(
        run_onnxruntime(tmp_path / "f.onnx", x3), ours(model, x3), atol=1e-5, rtol=0
    )


class Unsupported(nn.Module):
    def forward(self, x):
        y = x * x.max(dim=1, keepdim=True)[0]
        y, idx = F.max_pool2d(y, 2, return_indices=True)
        return F.max_unpool2d(y, idx, 2)


def test_unsupported_ops_are_named_all_at_once(tmp_path):
    with pytest.raises(ValueError, match=r"cannot export.*MaxDim \(1x\).*MaxUnpool2d \(1x\)"):
        export(Unsupported(), np.zeros((2, 1, 4, 4), np.float32), tmp_path / "u.onnx")


class Regroup(nn.Module):
    def forward(self, x):
        return x.reshape(3, 2) * 2.0


def test_a_reshape_that_drops_the_batch_dim_says_so_unless_the_batch_is_fixed(tmp_path):
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    with pytest.raises(ValueError, match=r"reshape from \(2, 3\) to \(3, 2\).*dynamic_batch=False"):
        export(Regroup(), x, tmp_path / "r.onnx")
    proto = export(Regroup(), x, tmp_path / "r.onnx", dynamic_batch=False)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 2
    np.testing.assert_allclose(run_onnxruntime(tmp_path / "r.onnx", x), x.reshape(3, 2) * 2)


def test_bad_arguments_are_named(tmp_path):
    model = models.create("lenet5")
    x = np.zeros((2, 1, 28, 28), np.float32)
    with pytest.raises(ValueError, match="opset must be between 13 and"):
        export(model, x, tmp_path / "m.onnx", opset=9)
    with pytest.raises(ValueError, match="1 example inputs but 2 input_names"):
        export(model, x, tmp_path / "m.onnx", input_names=["a", "b"])


class _Recurrent(nn.Module):
    """A 2-layer bidirectional recurrent layer with initial states, batch first."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.rnn = getattr(nn, kind)(5, 6, num_layers=2, bidirectional=True, batch_first=True)

    def forward(self, x):
        h0 = x[:, :6, 0] * 0.5  # (N, 6): initial states computed from the input
        h0 = cnnlab.stack([h0, -h0, h0 * 2, h0 + 1])
        if self.kind == "LSTM":
            y, (h, c) = self.rnn(x, (h0, h0 * 2))
            return cnnlab.cat([y[:, -1], h.permute(1, 0, 2).reshape(x.shape[0], -1), c[0]], 1)
        y, h = self.rnn(x, h0)
        return cnnlab.cat([y[:, 0], h[-1]], 1)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_recurrent_layers_match_onnxruntime(tmp_path, kind):
    # ONNX keeps the gates in another order (LSTM i, o, f, c; GRU z, r, h): a wrong reordering,
    # direction or initial state shows up here
    model = _Recurrent(kind).eval()
    rng = np.random.default_rng(3)
    path = tmp_path / f"{kind}.onnx"
    export(model, rng.standard_normal((2, 7, 5)).astype(np.float32), path)
    for n in (2, 4):
        x = rng.standard_normal((n, 7, 5)).astype(np.float32)
        np.testing.assert_allclose(run_onnxruntime(path, x), ours(model, x), atol=1e-5)


def test_every_zoo_model_is_covered_by_an_export_test():
    assert set(SMALL) | set(BIG) | set(CAPTIONERS) == set(models.names())

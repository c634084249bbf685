"""``cnnlab.onnx.load``: graphs exported by PyTorch (outputs and input gradients against
torch's) and by cnnlab itself (round trips), and the loaded Module at work (summary,
training, explanations, attacks, metadata). The op table on hand-built graphs and its
errors: tests/onnx/test_ops.py."""

from __future__ import annotations

import io

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab import models, optim
from cnnlab.onnx import OnnxModel, export, load
from tests.helpers import requires_torch, torch

pytestmark = pytest.mark.filterwarnings(
    "ignore:You are using the legacy TorchScript", "ignore:Constant folding"
)

if torch is not None:
    tnn = torch.nn

    class SmallCNN(tnn.Module):
        """conv - bn - relu - maxpool, a residual add, a concat, avgpool, flatten, linear."""

        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.bn1 = tnn.Conv2d(3, 8, 3, padding=1), tnn.BatchNorm2d(8)
            self.conv2, self.bn2 = tnn.Conv2d(8, 8, 3, padding=1, bias=False), tnn.BatchNorm2d(8)
            self.branch = tnn.Conv2d(8, 4, 1)
            self.pool, self.avg = tnn.MaxPool2d(2), tnn.AvgPool2d(2)
            self.fc, self.bn3 = tnn.Linear(12 * 4 * 4, 5), tnn.BatchNorm1d(5)

        def forward(self, x):
            h = self.pool(torch.relu(self.bn1(self.conv1(x))))
            r = torch.relu(self.bn2(self.conv2(h)) + h)
            c = self.avg(torch.cat([r, self.branch(r)], 1))
            return torch.log_softmax(self.bn3(self.fc(torch.flatten(c, 1))), 1)

    class BasicBlock(tnn.Module):
        """A torchvision-style ResNet block with a strided 1x1 projection shortcut."""

        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(cout)
            self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(cout)
            self.downsample = tnn.Sequential(
                tnn.Conv2d(cin, cout, 1, stride, bias=False), tnn.BatchNorm2d(cout)
            )

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.bn2(self.conv2(out)) + self.downsample(x))

    class TinyResNet(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = tnn.Sequential(tnn.Conv2d(3, 8, 3, 1, 1), tnn.ReLU())
            self.layer1 = tnn.Sequential(BasicBlock(8, 16, 2))
            self.head = tnn.Linear(16, 4)

        def forward(self, x):
            h = tnn.functional.adaptive_avg_pool2d(self.layer1(self.stem(x)), 1)
            return self.head(h.view(h.size(0), -1))  # Shape -> Gather -> Concat -> Reshape

    class Activations(tnn.Module):
        """The other activations, transposed convolution, padding, permutes and squeezes."""

        def __init__(self) -> None:
            super().__init__()
            self.up = tnn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1)
            self.acts = tnn.ModuleList(
                [
                    tnn.LeakyReLU(0.2),
                    tnn.ELU(0.7),
                    tnn.SELU(),
                    tnn.Hardsigmoid(),
                    tnn.Hardswish(),
                    tnn.ReLU6(),
                    tnn.Sigmoid(),
                    tnn.Tanh(),
                ]
            )
            self.drop = tnn.Dropout(0.3)
            self.fc = tnn.Linear(4, 3)

        def forward(self, x):
            h = self.up(tnn.functional.pad(x, (1, 0, 2, 1)))
            h = sum(a(h * (i + 1) * 0.5) for i, a in enumerate(self.acts))
            h = self.drop(h).mean(dim=(2, 3), keepdim=True)  # (N, 4, 1, 1)
            h = self.fc(h.squeeze(-1).squeeze(-1)).unsqueeze(1)  # (N, 1, 3)
            return torch.softmax(h.permute(0, 2, 1) - h.permute(0, 2, 1).max(), dim=1)


def _randomise_batch_norms(model) -> None:
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.normal_()
            m.bias.data.normal_()


def torch_to_onnx(model, shape, **kw):
    import onnx

    f = io.BytesIO()
    torch.onnx.export(
        model.eval(),
        torch.randn(2, *shape),
        f,
        dynamo=False,
        input_names=["x"],
        output_names=["y"],
        dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
        **kw,
    )
    return onnx.load_from_string(f.getvalue())


def compare_with_torch(model, loaded, shape, batch: int = 3, tol: float = 1e-5) -> None:
    """Outputs and the gradient of ``sum(c * out)`` with respect to the input."""
    x = np.random.default_rng(0).standard_normal((batch, *shape)).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    y = model(xt)
    c = np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(np.float32)
    (y * torch.tensor(c)).sum().backward()
    xc = cnnlab.tensor(x, requires_grad=True)
    yc = loaded(xc)
    (yc * cnnlab.tensor(c)).sum().backward()
    np.testing.assert_allclose(yc.numpy(), y.detach().numpy(), atol=tol, rtol=tol)
    np.testing.assert_allclose(np.asarray(xc.grad), xt.grad.numpy(), atol=tol, rtol=tol)


@requires_torch
@pytest.mark.parametrize("folded", [True, False], ids=["bn-folded", "bn-kept"])
def test_pytorch_small_cnn_outputs_and_input_gradients_match_torch(folded):
    torch.manual_seed(0)
    model = SmallCNN()
    _randomise_batch_norms(model)
    proto = torch_to_onnx(model, (3, 16, 16), do_constant_folding=folded)
    ops = {n.op_type for n in proto.graph.node}
    assert {"Conv", "Relu", "MaxPool", "Add", "Concat", "AveragePool", "Flatten", "Gemm"} <= ops
    assert ("BatchNormalization" in ops) or folded
    loaded = load(proto)
    compare_with_torch(model, loaded, (3, 16, 16))
    names = dict(loaded.named_parameters())
    assert "conv1.weight" in names and "fc.bias" in names  # PyTorch's names carried over
    np.testing.assert_allclose(names["fc.weight"].numpy(), model.fc.weight.detach().numpy())


@requires_torch
@pytest.mark.parametrize("opset", [11, 17])
def test_pytorch_resnet_block_with_view_matches_torch(opset):
    torch.manual_seed(1)
    model = TinyResNet()
    _randomise_batch_norms(model)
    proto = torch_to_onnx(model, (3, 12, 12), opset_version=opset, do_constant_folding=False)
    assert {"Shape", "Gather", "Reshape"} <= {n.op_type for n in proto.graph.node}
    loaded = load(proto)
    compare_with_torch(model, loaded, (3, 12, 12), batch=4)
    assert "layer1.0.downsample.0" in dict(loaded.named_modules())


@requires_torch
@pytest.mark.parametrize("opset", [11, 17])
def test_pytorch_activations_transposed_conv_and_shapes_match_torch(opset):
    torch.manual_seed(2)
    model = Activations()
    proto = torch_to_onnx(model, (3, 5, 6), opset_version=opset)
    compare_with_torch(model, load(proto), (3, 5, 6))


@pytest.mark.parametrize("name", ["lenet5", "fashion_cnn", "resnet20", "dcgan_generator"])
def test_round_trip_of_cnnlab_exports_keeps_outputs_and_parameters(exported, name):
    model, path = exported(name)
    loaded = load(path)
    shape = models.info(name)["input_shape"]
    x = cnnlab.tensor(np.random.default_rng(0).random((3, *shape), dtype=np.float32))
    with cnnlab.no_grad():
        np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-5, rtol=1e-5)
    theirs = loaded.state_dict()
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue  # training bookkeeping, not part of an inference graph
        np.testing.assert_array_equal(theirs[key], value, err_msg=key)


def test_loaded_model_summarises_reprs_and_trains(exported):
    _, path = exported("fashion_cnn")
    loaded = load(path)
    assert isinstance(loaded, OnnxModel)
    s = cnnlab.summary(loaded, (1, 28, 28))
    assert s.totals["params"] == sum(p.numel() for p in loaded.parameters()) == 155_626
    text = repr(loaded)
    assert text.startswith("OnnxModel(opset=17, inputs=['input'], outputs=['output']")
    assert "Conv2d" in text or "Conv(" in text
    x, y = cnnlab.randn(8, 1, 28, 28), cnnlab.tensor(np.arange(8) % 10)
    loaded.train()
    opt = optim.SGD(loaded.parameters(), lr=0.05)
    first = None
    for _ in range(5):
        loss = F.cross_entropy(loaded(x), y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first  # gradients reach every Parameter of the graph


def test_class_names_from_the_metadata(tmp_path):
    model = models.create("lenet5")
    export(
        model,
        np.zeros((2, 1, 28, 28), np.float32),
        tmp_path / "m.onnx",
        class_names=["shirt", "shoe"],
    )
    loaded = load(tmp_path / "m.onnx")
    assert loaded.class_names == ["shirt", "shoe"] and loaded.metadata["class_names"]


def test_grad_cam_and_fgsm_on_a_loaded_model_equal_those_on_the_original(exported):
    from cnnlab.attacks import fgsm
    from cnnlab.explain import grad_cam

    model, path = exported("fashion_cnn")
    loaded = load(path)
    x = np.random.default_rng(3).random((4, 1, 28, 28), dtype=np.float32)
    ours, theirs = grad_cam(loaded, x[0]), grad_cam(model, x[0])
    assert ours.target == theirs.target
    np.testing.assert_allclose(ours.map, theirs.map, atol=1e-5)
    a, b = fgsm(loaded, x, eps=0.05), fgsm(model, x, eps=0.05)
    np.testing.assert_allclose(a.x_adv, b.x_adv, atol=1e-6)
    assert (a.adv_pred == b.adv_pred).all()


def test_round_trip_keeps_every_exported_module_name(exported):
    model, path = exported("resnet20")
    loaded = dict(load(path).named_modules())
    assert set(dict(model.named_modules())) <= set(loaded)
    assert isinstance(loaded["layer3.2.relu"], cnnlab.nn.ReLU)


def test_input_shapes_are_read_with_symbolic_dims_as_none(exported):
    _, path = exported("lenet5")
    assert load(path).input_shapes == [(None, 1, 28, 28)]

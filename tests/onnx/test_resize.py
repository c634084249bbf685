"""``cnnlab.onnx.resize``: a U-Net-style block exported by PyTorch (Upsample, interpolate,
a transposed convolution, skip concatenation) loads and matches torch in outputs and input
gradients; what Resize refuses is refused in one line."""

from __future__ import annotations

import io

import numpy as np
import pytest

import cnnlab
from cnnlab.onnx import load
from tests.helpers import requires_torch, torch

pytestmark = pytest.mark.filterwarnings(
    "ignore:You are using the legacy TorchScript", "ignore:Constant folding"
)

if torch is not None:
    tnn = torch.nn

    class UNetBlock(tnn.Module):
        """Down (conv, pool), up (Upsample + transposed conv), resize to the input, skip."""

        def __init__(self, mode: str, align_corners) -> None:
            super().__init__()
            self.down = tnn.Sequential(tnn.Conv2d(3, 8, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2))
            self.mid = tnn.Conv2d(8, 8, 3, padding=1)
            self.up = tnn.Upsample(scale_factor=2, mode=mode, align_corners=align_corners)
            self.tconv = tnn.ConvTranspose2d(8, 8, 2, stride=2)
            self.out = tnn.Conv2d(11, 2, 1)

        def forward(self, x):
            h = self.down(x)
            u = self.up(torch.relu(self.mid(h))) + self.tconv(h)
            u = torch.nn.functional.interpolate(u, size=(9, 7), mode="nearest")
            x = torch.nn.functional.interpolate(x, size=(9, 7), mode="bilinear")
            return self.out(torch.cat([u[:, :8], x], 1))


@requires_torch
@pytest.mark.parametrize("opset", [11, 17])
@pytest.mark.parametrize(
    "mode,align_corners",
    [
        ("nearest", None),
        ("bilinear", False),
        ("bilinear", True),
        ("bicubic", False),
        ("bicubic", True),
    ],
)
def test_pytorch_unet_block_matches_torch_with_input_gradients(mode, align_corners, opset):
    torch.manual_seed(0)
    model = UNetBlock(mode, align_corners).eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 6)).astype(np.float32)
    f = io.BytesIO()
    torch.onnx.export(model, torch.tensor(x), f, dynamo=False, opset_version=opset)
    loaded = load(f.getvalue())
    assert any(type(m).__name__ == "Resize" for m in loaded.modules())
    xt, xc = torch.tensor(x, requires_grad=True), cnnlab.tensor(x, requires_grad=True)
    y, yc = model(xt), loaded(xc)
    np.testing.assert_allclose(yc.numpy(), y.detach().numpy(), atol=1e-5, rtol=1e-5)
    c = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    (y * torch.tensor(c)).sum().backward()
    (yc * cnnlab.tensor(c)).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-5, rtol=1e-5)


def _resize(**attrs):
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], name="up", **attrs)
    graph = helper.make_graph([node], "g", [x], [y], initializer=[scales])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])


@pytest.mark.parametrize(
    "attrs,why",
    [
        ({"mode": "area"}, "mode 'area' is not supported"),
        (
            {"coordinate_transformation_mode": "crop"},
            "coordinate_transformation_mode 'crop'",
        ),
        ({"nearest_mode": "sideways"}, "nearest_mode 'sideways'"),
    ],
)
def test_unsupported_resize_forms_are_refused_in_one_line(attrs, why):
    with pytest.raises(ValueError, match=rf"^load: model: .*'up' \(Resize\): {why}") as info:
        load(_resize(**attrs))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_cnnlab_bicubic_and_antialiased_resize_export_and_match_onnxruntime(tmp_path, mode):
    import onnxruntime as ort

    from cnnlab import nn
    from cnnlab.onnx import export

    class Resizer(nn.Module):
        def forward(self, x):
            small = nn.functional.interpolate(x, size=(3, 4), mode=mode, antialias=True)
            return nn.functional.interpolate(small, size=(7, 5), mode="bicubic")

    x = np.random.default_rng(0).standard_normal((2, 3, 9, 10)).astype(np.float32)
    path = tmp_path / "resize.onnx"
    export(Resizer(), x, path, opset=18)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    want = Resizer()(cnnlab.tensor(x)).numpy()
    np.testing.assert_allclose(session.run(None, {"input": x})[0], want, atol=1e-5)
    np.testing.assert_allclose(load(path)(cnnlab.tensor(x)).numpy(), want, atol=1e-5)
    with pytest.raises(ValueError, match="antialiased interpolation needs opset 18"):
        export(Resizer(), x, tmp_path / "old.onnx", opset=17)


@pytest.mark.parametrize("mode", ["linear", "cubic"])
def test_a_flipped_tf_crop_and_resize_reads_backwards_and_passes_a_gradcheck(mode):
    from tests.helpers import check_gradients
    from tests.onnx.single_node import node_model

    x = np.random.default_rng(0).standard_normal((1, 2, 4, 5))

    def crop(top, bottom):
        roi = np.array([top, 0.2, bottom, 0.8], np.float32)  # height, width starts then ends
        inits = {"roi": roi, "scales": None, "sizes": np.array([6, 3], np.int64)}
        attrs = dict(mode=mode, axes=[2, 3], coordinate_transformation_mode="tf_crop_and_resize")
        return load(node_model("Resize", {"x": x}, opset=19, inits=inits, **attrs))

    flipped = crop(0.9, 0.1)  # the height axis read bottom to top
    y = flipped(cnnlab.tensor(x)).numpy()
    assert y.shape == (1, 2, 6, 3)
    np.testing.assert_allclose(y, crop(0.1, 0.9)(cnnlab.tensor(x)).numpy()[:, :, ::-1], atol=1e-12)
    check_gradients(lambda t: flipped(t), [x])

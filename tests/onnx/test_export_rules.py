"""``cnnlab.onnx.export_rules``: a model of every layer added for ONNX conformance
(InstanceNorm2d, LocalResponseNorm, PReLU, Softplus, pad modes, Upsample bilinear and
nearest, LayerNorm, GELU, Conv1d, MaxPool1d, AvgPool1d) exports at opsets 13 to 19, runs in
onnxruntime as in cnnlab, and loads back."""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab
from cnnlab import nn
from cnnlab.onnx import export, load
from tests.onnx.conftest import run_onnxruntime


class Everything(nn.Module):
    def __init__(self, pad_mode: str) -> None:
        super().__init__()
        self.conv, self.inorm = nn.Conv2d(3, 6, 3), nn.InstanceNorm2d(6, affine=True)
        self.lrn, self.prelu, self.softplus = (
            nn.LocalResponseNorm(3),
            nn.PReLU(6),
            nn.Softplus(2.0, 5.0),
        )
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.up2 = nn.Upsample(scale_factor=2)
        self.ln, self.gelu = nn.LayerNorm(8), nn.GELU()
        self.conv1d, self.max1d, self.avg1d = nn.Conv1d(6, 4, 3), nn.MaxPool1d(2), nn.AvgPool1d(2)
        self.pad_mode = pad_mode

    def forward(self, x):
        h = self.softplus(self.prelu(self.lrn(self.inorm(self.conv(x)))))
        h = cnnlab.pad(h, (1, 2, 2, 1), mode=self.pad_mode)
        h = self.gelu(self.ln(self.up2(self.up(h))[:, :, :8, :8]))
        return self.avg1d(self.max1d(self.conv1d(h.flatten(2))))


@pytest.mark.parametrize(
    "pad_mode,opset", [("reflect", 13), ("replicate", 17), ("circular", 19), ("reflect", 18)]
)
def test_new_layers_export_run_in_onnxruntime_and_load_back(tmp_path, pad_mode, opset):
    cnnlab.manual_seed(0)
    model = Everything(pad_mode).eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 6)).astype(np.float32)
    path = tmp_path / "m.onnx"
    export(model, x, path, opset=opset)
    with cnnlab.no_grad():
        want = model(cnnlab.tensor(x)).numpy()
        back = load(path)(cnnlab.tensor(x)).numpy()
    np.testing.assert_allclose(run_onnxruntime(path, x), want, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(back, want, atol=1e-5, rtol=1e-5)  # opset 13: LayerNorm op by op


def test_circular_padding_before_opset_19_is_refused(tmp_path):
    model = Everything("circular").eval()
    x = np.zeros((1, 3, 7, 6), np.float32)
    with pytest.raises(ValueError, match=r"circular padding needs opset 19"):
        export(model, x, tmp_path / "m.onnx", opset=17)


def test_a_resize_loaded_from_onnx_is_refused_on_export_rather_than_changed(tmp_path):
    from tests.onnx.single_node import node_model

    x = np.random.default_rng(0).random((1, 2, 3, 4), dtype=np.float32)
    scales = np.array([1, 1, 2, 2], np.float32)
    proto = node_model("Resize", {"x": x}, inits={"roi": None, "scales": scales}, mode="linear")
    with pytest.raises(ValueError, match="a Resize loaded from ONNX cannot be exported again"):
        export(load(proto), x, tmp_path / "again.onnx")

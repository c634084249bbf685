"""``cnnlab.onnx.norms``: a transformer-style block exported by PyTorch (LayerNorm,
multi-head attention, GELU exact and tanh) and InstanceNorm, LocalResponseNorm (which
PyTorch writes as a 3-D average pool inside an ``If``), PReLU and Softplus layers load and
match torch in outputs and input gradients."""

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

    class TransformerBlock(tnn.Module):
        """Pre-norm attention and a GELU feed-forward, each with a residual."""

        def __init__(self, approximate: str) -> None:
            super().__init__()
            self.ln1, self.ln2 = tnn.LayerNorm(16), tnn.LayerNorm(16)
            self.attn = tnn.MultiheadAttention(16, 2, batch_first=True)
            self.ff = tnn.Sequential(
                tnn.Linear(16, 32), tnn.GELU(approximate=approximate), tnn.Linear(32, 16)
            )

        def forward(self, x):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.ff(self.ln2(x))


def _compare(model, x, opset):
    f = io.BytesIO()
    torch.onnx.export(model.eval(), torch.tensor(x), f, dynamo=False, opset_version=opset)
    loaded = load(f.getvalue())
    xt, xc = torch.tensor(x, requires_grad=True), cnnlab.tensor(x, requires_grad=True)
    y, yc = model(xt), loaded(xc)
    np.testing.assert_allclose(yc.numpy(), y.detach().numpy(), atol=1e-5, rtol=1e-5)
    c = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    (y * torch.tensor(c)).sum().backward()
    (yc * cnnlab.tensor(c)).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-5, rtol=1e-5)
    return loaded


@requires_torch
@pytest.mark.parametrize("opset", [14, 17])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_pytorch_transformer_block_matches_torch_with_input_gradients(approximate, opset):
    torch.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((2, 5, 16)).astype(np.float32)
    loaded = _compare(TransformerBlock(approximate), x, opset)
    if opset >= 17:  # LayerNormalization is one ONNX op from opset 17
        assert any(type(m).__name__ == "LayerNormalization" for m in loaded.modules())


@requires_torch
def test_pytorch_instance_norm_lrn_prelu_and_softplus_match_torch():
    torch.manual_seed(0)
    model = tnn.Sequential(
        tnn.Conv2d(3, 6, 3),
        tnn.InstanceNorm2d(6, affine=True),
        tnn.LocalResponseNorm(3, alpha=0.2, beta=0.75, k=2.0),
        tnn.PReLU(6),
        tnn.Softplus(),
    )
    with torch.no_grad():
        model[1].weight.uniform_(0.5, 1.5)
        model[1].bias.normal_()
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 6)).astype(np.float32)
    _compare(model, x, 17)


def test_batch_norm_training_mode_uses_batch_statistics_and_gives_onnx_running_ones():
    from tests.onnx.single_node import run_node

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 2, 2)).astype(np.float32)
    scale, shift = rng.random(3, np.float32) + 0.5, rng.standard_normal(3).astype(np.float32)
    mean, var = np.zeros(3, np.float32), np.ones(3, np.float32)
    inputs = {"x": x, "s": scale, "b": shift, "m": mean, "v": var}
    y, run_mean, run_var = run_node(
        "BatchNormalization", inputs, n_out=3, opset=15, training_mode=1, momentum=0.8
    )
    mu, sigma2 = x.mean((0, 2, 3)), x.var((0, 2, 3))  # the biased variance, as ONNX says
    want = (x - mu[:, None, None]) / np.sqrt(sigma2[:, None, None] + 1e-5)
    want = want * scale[:, None, None] + shift[:, None, None]
    np.testing.assert_allclose(y, want, atol=1e-5)
    np.testing.assert_allclose(run_mean, 0.2 * mu, atol=1e-6)
    np.testing.assert_allclose(run_var, 0.8 + 0.2 * sigma2, atol=1e-6)

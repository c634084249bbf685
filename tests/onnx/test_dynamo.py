"""PyTorch's dynamo exporter (``torch.onnx.export(..., dynamo=True)``, which needs
``onnxscript``): an LSTM and a GRU classifier, a U-Net-style block (Upsample, transposed
conv, skip) and a transformer block (LayerNorm, attention, GELU) load and match torch
within 1e-5 in outputs and input gradients. The TorchScript exporter's twins of these
tests are in test_recurrent.py, test_resize.py and test_norms.py."""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab
from cnnlab.onnx import load
from tests.helpers import requires_torch, torch

pytest.importorskip("onnxscript")
pytestmark = [
    requires_torch,
    pytest.mark.filterwarnings(
        "ignore::DeprecationWarning", "ignore::FutureWarning", "ignore:The tensor attributes"
    ),
]


def _dynamo_matches_torch(model, x):
    program = torch.onnx.export(model.eval(), (torch.tensor(x),), dynamo=True, verbose=False)
    loaded = load(program.model_proto.SerializeToString())
    xt, xc = torch.tensor(x, requires_grad=True), cnnlab.tensor(x, requires_grad=True)
    y, yc = model(xt), loaded(xc)
    np.testing.assert_allclose(yc.numpy(), y.detach().numpy(), atol=1e-5, rtol=1e-5)
    c = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    (y * torch.tensor(c)).sum().backward()
    (yc * cnnlab.tensor(c)).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_dynamo_exported_recurrent_classifier_matches_torch(kind):
    from tests.onnx.test_recurrent import Classifier

    torch.manual_seed(0)
    model = Classifier(getattr(torch.nn, kind), num_layers=2, bidirectional=True, batch_first=True)
    _dynamo_matches_torch(
        model, np.random.default_rng(0).standard_normal((4, 6, 5)).astype(np.float32)
    )


def test_dynamo_exported_unet_block_matches_torch():
    from tests.onnx.test_resize import UNetBlock

    torch.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 6)).astype(np.float32)
    _dynamo_matches_torch(UNetBlock("bilinear", False), x)


def test_dynamo_exported_transformer_block_matches_torch():
    from tests.onnx.test_norms import TransformerBlock

    torch.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((2, 5, 16)).astype(np.float32)
    _dynamo_matches_torch(TransformerBlock("none"), x)

import numpy as np
import pytest

import cnnlab
from cnnlab import nn
from tests.helpers import requires_torch, torch
from tests.nn.layer_check import run_layer_test


def test_embedding_layer_checks():
    idx = np.array([[1, 2, 0], [3, 3, 4]])
    layer = nn.Embedding(5, 4, padding_idx=0)
    out = run_layer_test(
        layer, inputs=(idx,), expected_output_shape=(2, 3, 4), expected_num_params=20
    )
    assert out.dtype == np.float32
    assert "padding_idx=0" in repr(layer)
    np.testing.assert_array_equal(layer.weight.array[0], 0.0)  # the padding row starts at zero


def test_padding_row_stays_zero_through_training():
    cnnlab.manual_seed(0)
    layer = nn.Embedding(4, 3, padding_idx=-1)
    assert layer.padding_idx == 3
    opt = cnnlab.optim.SGD(layer.parameters(), lr=0.5)
    for _ in range(3):
        opt.zero_grad()
        (layer(np.array([0, 3, 3, 1])) ** 2).sum().backward()
        opt.step()
    np.testing.assert_array_equal(layer.weight.array[3], 0.0)


@requires_torch
def test_embedding_layer_torch_parity():
    cnnlab.manual_seed(1)
    ours = nn.Embedding(6, 3, padding_idx=2)
    theirs = torch.nn.Embedding(6, 3, padding_idx=2)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.array))
    idx = np.array([[0, 2, 5], [2, 1, 1]])
    out, ref = ours(idx), theirs(torch.tensor(idx))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy())
    c = np.random.default_rng(0).standard_normal(out.shape).astype(np.float32)
    (out * cnnlab.tensor(c)).sum().backward()
    (ref * torch.tensor(c)).sum().backward()
    np.testing.assert_allclose(np.asarray(ours.weight.grad), theirs.weight.grad.numpy(), atol=1e-6)


def test_bad_configuration_is_named():
    with pytest.raises(ValueError, match="Embedding: num_embeddings and embedding_dim"):
        nn.Embedding(0, 3)
    with pytest.raises(ValueError, match=r"Embedding: padding_idx must be in \[-4, 4\), got 4"):
        nn.Embedding(4, 3, padding_idx=4)

"""Collation (cnnlab/data/collate.py): nested samples batched as PyTorch batches them, and
one clear error for ragged or unbatchable samples."""

import numpy as np
import pytest

import cnnlab
from cnnlab.data.collate import default_collate


def test_default_collate_structures_match_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate

    samples = [
        {"x": np.full(2, i, np.float32), "label": i, "w": 0.5 * i, "name": f"s{i}"}
        for i in range(3)
    ]
    ours, theirs = default_collate(samples), torch_collate(samples)
    assert set(ours) == set(theirs) and ours["name"] == theirs["name"]
    for key in ("x", "label", "w"):
        np.testing.assert_array_equal(ours[key].numpy(), theirs[key].numpy())
        assert str(ours[key].dtype) == str(theirs[key].dtype).replace("torch.", "")
    pairs = [(cnnlab.tensor([1.0, 2.0]), True), (cnnlab.tensor([3.0, 4.0]), False)]
    x, flags = default_collate(pairs)
    assert isinstance(x, cnnlab.Tensor) and x.shape == (2, 2) and flags.dtype == np.bool_
    assert type(torch_collate([(torch.zeros(1), 1)])) is list
    with pytest.raises(RuntimeError, match="same size"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object()])

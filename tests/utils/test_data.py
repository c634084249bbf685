import importlib

import numpy as np
import pytest

import cnnlab
import cnnlab.data

torch = pytest.importorskip("torch")
tud = pytest.importorskip("torch.utils.data")


def test_torch_path_is_the_same_implementation():
    import cnnlab.utils.data as ud
    from cnnlab.utils.data import DataLoader

    assert DataLoader is cnnlab.data.DataLoader and cnnlab.utils.data is ud
    for name in ud.__all__:
        assert getattr(ud, name) is getattr(cnnlab.data, name), name
        assert hasattr(tud, name), f"torch.utils.data has no {name}"
    assert importlib.import_module("cnnlab.utils").data is ud


def test_tutorial_loop_over_tensor_dataset_matches_torch():
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10) % 2
    ours = cnnlab.utils.data.TensorDataset(cnnlab.tensor(x), cnnlab.tensor(y))
    theirs = tud.TensorDataset(torch.tensor(x), torch.tensor(y))
    item = ours[3]
    assert all(isinstance(t, cnnlab.Tensor) for t in item)
    np.testing.assert_array_equal(item[0].numpy(), theirs[3][0].numpy())
    for a, b in zip(
        cnnlab.utils.data.DataLoader(ours, batch_size=4),
        tud.DataLoader(theirs, batch_size=4),
    ):
        assert type(a) is type(b) is list
        np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
        assert a[1].dtype == np.int64


@pytest.mark.parametrize("fractions", [[0.8, 0.2], [0.5, 0.3, 0.2], [0.34, 0.33, 0.33]])
def test_random_split_fractions_give_torch_lengths(fractions):
    ours = cnnlab.utils.data.random_split(range(101), fractions, generator=0)
    theirs = tud.random_split(range(101), fractions)
    assert [len(s) for s in ours] == [len(s) for s in theirs]

"""Labelled subsets per class and the on-disk feature cache."""

import numpy as np
import pytest

import cnnlab
from cnnlab.models.simple import FashionCNN
from cnnlab.transfer import features
from cnnlab.transfer.cache import cached_extract
from cnnlab.transfer.subsets import per_class


def test_per_class_draws_n_of_each_class_nested_and_seeded():
    y = np.repeat(np.arange(3), 20)
    a, b = per_class(y, 5, seed=0), per_class(y, 10, seed=0)
    assert np.bincount(y[a]).tolist() == [5, 5, 5] and set(a) <= set(b)
    assert not np.array_equal(a, per_class(y, 5, seed=1))
    assert np.array_equal(per_class(y, None), np.arange(60))


def test_per_class_above_what_the_data_has_is_one_clear_line():
    y = np.array([0] * 10 + [1] * 4)
    with pytest.raises(
        ValueError, match="5 labels per class asked, but data has only 4 images of class 1"
    ):
        per_class(y, 5)


def test_cache_extracts_once_and_resumes_from_chunks(tmp_path):
    cnnlab.manual_seed(0)
    model = FashionCNN(num_classes=3, in_channels=1, input_size=8, widths=(4, 6))
    x = np.random.default_rng(0).random((10, 1, 8, 8)).astype(np.float32)
    y = np.arange(10) % 3
    built = []

    def make():
        built.append(1)
        return model

    path = tmp_path / "f.npz"
    got = cached_extract(
        path, make, (x, y), (None, "features.0"), chunk=4, progress=False, float16=("features.0",)
    )
    ref, _ = features(model, (x, y), progress=False)
    # extract runs a fused copy (cnnlab.nn.fusion): the same features up to rounding
    np.testing.assert_allclose(got["head_input"], ref, rtol=1e-6, atol=1e-6)
    assert got["layer:features.0"].dtype == np.float16 and path.exists()
    again = cached_extract(path, lambda: pytest.fail("rebuilt"), (x, y), (None, "features.0"))
    assert np.array_equal(again["head_input"], got["head_input"]) and len(built) == 1
    sub = cached_extract(tmp_path / "g.npz", make, (x, y), indices=[1, 4, 7], progress=False)
    np.testing.assert_allclose(sub["head_input"], ref[[1, 4, 7]], rtol=1e-6)

"""The functional forms added for PyTorch programs: one_hot, upsample, normalize,
cosine_similarity and binary_cross_entropy, against PyTorch (forward and backward) with
float64 gradchecks."""

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity


@requires_torch
@pytest.mark.parametrize("labels,n", [([0, 2, 1, 2], -1), ([[1, 0], [3, 3]], 5), ([], 3)])
def test_one_hot_equals_torch(labels, n):
    ours = F.one_hot(cnnlab.tensor(np.array(labels, np.int64)), n)
    theirs = torch.nn.functional.one_hot(torch.tensor(labels, dtype=torch.int64), n)
    assert ours.dtype == np.int64 and ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize(
    "labels,n,err,match",
    [
        ([0.0, 1.0], -1, TypeError, "integer"),
        ([0, -1], -1, ValueError, ">= 0"),
        ([0, 3], 3, ValueError, "out of range for 3 classes"),
    ],
)
def test_one_hot_names_what_is_wrong(labels, n, err, match):
    with pytest.raises(err, match=match):
        F.one_hot(cnnlab.tensor(labels), n)


def _probs(shape=(4, 3)):
    return 1 / (1 + np.exp(-seeded(6).standard_normal(shape)))


CASES = {
    "normalize": (lambda t: F.normalize(t), lambda t: torch.nn.functional.normalize(t)),
    "normalize_p1": (
        lambda t: F.normalize(t, p=1, dim=0),
        lambda t: torch.nn.functional.normalize(t, p=1, dim=0),
    ),
    "cosine_similarity": (
        lambda t: F.cosine_similarity(t, t.flip(0) - 0.5),
        lambda t: torch.nn.functional.cosine_similarity(t, t.flip(0) - 0.5),
    ),
    "cosine_similarity_dim0": (
        lambda t: F.cosine_similarity(t, t[:1] * 2, dim=0),
        lambda t: torch.nn.functional.cosine_similarity(t, t[:1] * 2, dim=0),
    ),
    "bce": (
        lambda t: F.binary_cross_entropy(t, cnnlab.tensor(_probs().round())),
        lambda t: torch.nn.functional.binary_cross_entropy(t, torch.tensor(_probs().round())),
    ),
    "bce_sum_weight": (
        lambda t: F.binary_cross_entropy(t, _probs(), weight=2.0, reduction="sum"),
        lambda t: torch.nn.functional.binary_cross_entropy(
            t, torch.tensor(_probs()), weight=torch.tensor(2.0, dtype=t.dtype), reduction="sum"
        ),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_functional_gradcheck_and_parity(name):
    fn, tfn = CASES[name]
    check_gradients(fn, [_probs()])
    if torch is not None:
        torch_parity(fn, tfn, [_probs()])


@requires_torch
def test_upsample_is_interpolate_as_in_torch():
    x = seeded(1).standard_normal((1, 2, 3, 3)).astype(np.float32)
    ours = F.upsample(cnnlab.tensor(x), scale_factor=2, mode="nearest")
    theirs = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=2, mode="nearest")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_binary_cross_entropy_checks_shapes_and_reduction():
    p = cnnlab.tensor(_probs())
    with pytest.raises(ValueError, match="target shape"):
        F.binary_cross_entropy(p, cnnlab.ones(3))
    with pytest.raises(ValueError, match="unknown reduction"):
        F.binary_cross_entropy(p, p, reduction="avg")

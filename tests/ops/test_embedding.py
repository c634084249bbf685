import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity

# (table size V, E, index shape, padding_idx)
CASES = [
    ((7, 3), (5,), None),
    ((6, 4), (2, 5), 0),
    ((5, 2), (3, 2, 2), -1),
]


def _data(v_e, shape, seed, dtype=np.float64):
    rng = seeded(seed)
    w = rng.standard_normal(v_e).astype(dtype)
    idx = rng.integers(0, v_e[0], shape)
    idx.reshape(-1)[:2] = idx.reshape(-1)[0]  # a repeated index: its gradients must add up
    return w, idx


def _loop(w, idx):
    out = np.zeros(idx.shape + (w.shape[1],), w.dtype)
    for pos in np.ndindex(*idx.shape):
        out[pos] = w[idx[pos]]
    return out


@pytest.mark.parametrize("v_e,shape,pad", CASES)
def test_embedding_matches_loop_and_gradcheck(v_e, shape, pad):
    w, idx = _data(v_e, shape, seed=0)
    out = F.embedding(idx, cnnlab.tensor(w), pad)
    np.testing.assert_array_equal(out.numpy(), _loop(w, idx))
    check_gradients(lambda a: F.embedding(idx, a), [w])


@pytest.mark.parametrize("v_e,shape,pad", CASES)
def test_padding_row_gets_no_gradient(v_e, shape, pad):
    w, idx = _data(v_e, shape, seed=2)
    idx.reshape(-1)[-1] = pad % v_e[0] if pad is not None else 0
    t = cnnlab.tensor(w, requires_grad=True)
    F.embedding(idx, t, pad).sum().backward()
    counts = np.bincount(idx.reshape(-1), minlength=v_e[0]).astype(float)
    if pad is not None:
        counts[pad % v_e[0]] = 0
    np.testing.assert_allclose(np.asarray(t.grad), np.repeat(counts[:, None], v_e[1], axis=1))


@requires_torch
@pytest.mark.parametrize("v_e,shape,pad", CASES)
def test_embedding_torch_parity(v_e, shape, pad):
    w, idx = _data(v_e, shape, seed=1, dtype=np.float32)
    torch_parity(
        lambda a, i: F.embedding(i.numpy(), a, pad),
        lambda a, i: torch.nn.functional.embedding(i, a, pad),
        [w, idx],
    )


def test_bad_arguments_are_named():
    w = cnnlab.zeros(4, 2)
    with pytest.raises(ValueError, match=r"embedding: indices must be in \[0, 4\)"):
        F.embedding(np.array([0, 4]), w)
    with pytest.raises(ValueError, match="embedding: input must hold integer indices"):
        F.embedding(np.array([0.5]), w)
    with pytest.raises(ValueError, match="embedding: weight must be 2-D"):
        F.embedding(np.array([0]), cnnlab.zeros(4))
    with pytest.raises(ValueError, match="embedding: padding_idx must be in"):
        F.embedding(np.array([0]), w, padding_idx=4)

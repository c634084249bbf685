import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity

# (N, L, A)
SHAPES = [(1, 1, 1), (2, 5, 3), (3, 4, 6)]


def _data(shape, seed, dtype=np.float64):
    n, l, a = shape
    rng = seeded(seed)
    return (
        rng.standard_normal((n, l, a)).astype(dtype),
        rng.standard_normal((n, a)).astype(dtype),
        rng.standard_normal(a).astype(dtype),
    )


def _loop(keys, query, v):
    n, l, _ = keys.shape
    out = np.zeros((n, l))
    for i in range(n):
        e = np.array([np.tanh(keys[i, j] + query[i]) @ v for j in range(l)])
        out[i] = np.exp(e - e.max()) / np.exp(e - e.max()).sum()
    return out


@pytest.mark.parametrize("shape", SHAPES)
def test_attention_matches_loop_and_gradcheck(shape):
    k, q, v = _data(shape, seed=0)
    out = F.additive_attention(cnnlab.tensor(k), cnnlab.tensor(q), cnnlab.tensor(v))
    np.testing.assert_allclose(out.numpy(), _loop(k, q, v), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out.numpy().sum(axis=1), 1.0)
    check_gradients(F.additive_attention, [k, q, v])


@requires_torch
@pytest.mark.parametrize("shape", SHAPES)
def test_attention_torch_parity(shape):
    def reference(k, q, v):
        return torch.softmax(torch.tanh(k + q[:, None, :]) @ v, dim=1)

    torch_parity(F.additive_attention, reference, list(_data(shape, seed=1, dtype=np.float32)))


def test_bad_shapes_are_named():
    k, q, v = cnnlab.zeros(2, 5, 3), cnnlab.zeros(2, 3), cnnlab.zeros(3)
    with pytest.raises(ValueError, match=r"additive_attention: expected keys \(N, L, A\)"):
        F.additive_attention(k[0], q, v)
    with pytest.raises(ValueError, match=r"query must be \(2, 3\) and v \(3,\)"):
        F.additive_attention(k, cnnlab.zeros(2, 4), v)

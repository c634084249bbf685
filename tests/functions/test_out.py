"""``out=`` as PyTorch: the result written into the given tensor, no gradient recorded."""

import numpy as np
import pytest

import cnnlab
from tests.helpers import requires_torch, torch


@requires_torch
@pytest.mark.parametrize(
    "name,args,kw",
    [
        ("matmul", 2, {}),
        ("mm", 2, {}),
        ("mul", 2, {}),
        ("add", 2, {"alpha": 2}),
        ("sub", 2, {}),
        ("div", 2, {"rounding_mode": "floor"}),
    ],
)
def test_out_receives_the_result_as_torch(name, args, kw):
    a = np.arange(1.0, 10.0, dtype=np.float32).reshape(3, 3)
    ours_out, theirs_out = cnnlab.zeros(3, 3), torch.zeros(3, 3)
    ours = getattr(cnnlab, name)(cnnlab.tensor(a), cnnlab.tensor(a.T), out=ours_out, **kw)
    theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(a.T), out=theirs_out, **kw)
    assert ours is ours_out
    np.testing.assert_allclose(ours_out.numpy(), theirs_out.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_out_for_cat_stack_bmm():
    a = cnnlab.ones(2, 2, 2)
    out = cnnlab.empty(4, 2, 2)
    assert cnnlab.cat([a, a], out=out) is out and out.sum().item() == 16
    out = cnnlab.empty(2, 2, 2, 2)
    assert cnnlab.stack([a, a], dim=1, out=out) is out
    out = cnnlab.empty(2, 2, 2)
    assert cnnlab.bmm(a, a, out=out) is out and out[0, 0, 0].item() == 2


def test_out_refuses_gradients_and_wrong_shapes():
    w = cnnlab.ones(2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        cnnlab.mul(w, w, out=cnnlab.empty(2, 2))
    with pytest.raises(ValueError, match=r"out has shape \(3,\), the result has shape \(2, 2\)"):
        cnnlab.add(cnnlab.ones(2, 2), 1.0, out=cnnlab.empty(3))
    with cnnlab.no_grad():
        assert cnnlab.mul(w, w, out=cnnlab.empty(2, 2)).sum().item() == 4

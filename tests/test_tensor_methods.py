"""The Tensor methods that mirror torch.* functions: PyTorch parity for the differentiable
ones (forward and backward), x[i] = v and the in-place operators."""

import numpy as np
import pytest

import cnnlab
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity

METHODS = {  # name: fn(tensor) with the same code for cnnlab and torch
    "pow": lambda t: t.pow(3),
    "pow_tensor": lambda t: t.abs().pow(t),
    "t": lambda t: t.t(),
    "view_as": lambda t: t.view_as(t.reshape(4, 3)) * 2,
    "reshape_as": lambda t: t.reshape_as(t.reshape(2, 6)),
    "expand_as": lambda t: t[:1].expand_as(t),
    "matmul": lambda t: t.matmul(t.t()),
    "mm": lambda t: t.mm(t.t()),
    "prod": lambda t: t.prod(1),
    "cumsum": lambda t: t.cumsum(0),
    "sort": lambda t: t.sort(descending=True).values,
    "topk": lambda t: t.topk(2, dim=0).values,
    "logsumexp": lambda t: t.logsumexp(1),
    "amin": lambda t: t.amin(1),
    "sin_cos": lambda t: t.sin() + t.cos(),
    "square_rsqrt": lambda t: t.square() + (t.abs() + 1).rsqrt(),
    "log1p_expm1": lambda t: (t.abs()).log1p() + t.expm1(),
    "maximum": lambda t: t.maximum(t.flip(0)),
    "clamp_min_max": lambda t: t.clamp_min(-0.3).clamp_max(0.4),
    "add_alpha": lambda t: t.add(t * 2, alpha=0.5).sub(t, alpha=2).mul(3).div(2),
    "masked_fill": lambda t: t.masked_fill(t > 0.2, -1.0),
    "gather": lambda t: t.gather(1, (t.abs() * 3).long() % 4),
    "split": lambda t: t.split(2, 1)[1],
    "chunk": lambda t: t.chunk(3, 1)[0],
    "unbind": lambda t: t.unbind(0)[1],
    "repeat": lambda t: t.repeat(1, 2),
    "flip": lambda t: t.flip(1),
    "narrow": lambda t: t.narrow(0, 1, 2),
    "index_select": lambda t: t.index_select(0, (t[:, 0] > 0).long()),
    "type_as": lambda t: t.type_as(t.double()) * 2,
    "swapaxes": lambda t: t.swapaxes(0, 1),
}


@pytest.mark.parametrize("name", list(METHODS))
def test_method_gradcheck_and_parity(name):
    fn = METHODS[name]
    x = seeded(4).standard_normal((3, 4))
    check_gradients(fn, [x])
    if torch is not None:
        torch_parity(fn, fn, [x.astype(np.float32)])


@requires_torch
def test_reading_methods_equal_torch():
    x = np.array([[1.5, -2.0, 3.0], [0.0, 7.0, -1.0]], np.float32)
    ours, theirs = cnnlab.tensor(x), torch.tensor(x)
    for name in ("argmin", "argmax", "isnan", "isfinite", "floor", "sign", "count_nonzero"):
        np.testing.assert_array_equal(
            getattr(ours, name)().numpy(), getattr(theirs, name)().numpy(), err_msg=name
        )
    assert ours.tolist() == theirs.tolist() and ours[1, 1].item() == theirs[1, 1].item()
    assert ours.nelement() == theirs.nelement() and ours.ndimension() == theirs.ndimension()
    assert ours.element_size() == theirs.element_size()
    assert ours.is_floating_point() and not ours.is_cuda and ours.is_contiguous()
    assert ours.median().item() == theirs.median().item()
    assert ours.equal(cnnlab.tensor(x)) and ours.allclose(cnnlab.tensor(x + 1e-9))


def test_masked_fill_in_place_follows_the_in_place_rules():
    x = cnnlab.tensor([1.0, -2.0, 3.0])
    assert x.masked_fill_(x < 0, 0.0) is x and x.tolist() == [1.0, 0.0, 3.0]
    w = cnnlab.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="masked_fill_: a leaf tensor that requires grad"):
        w.masked_fill_(w > 0, 0.0)
    y = w * 2
    y.masked_fill_(cnnlab.tensor([True, False, False]), 0.0)
    y.sum().backward()
    assert w.grad.tolist() == [0.0, 2.0, 2.0]


@requires_torch
def test_setitem_and_in_place_operators_as_torch():
    def program(m):
        t = m.ones(4, 4)
        t[:, 1] = 0
        t[t.sum(1) > 10] = 5.0
        t[0] += 1
        t *= 2
        t -= m.arange(4.0)
        t /= 4
        return t

    np.testing.assert_array_equal(program(cnnlab).numpy(), program(torch).numpy())

    def through_graph(m, w, v):
        y = w * 2
        y[1:] = v * 3
        y += v
        return y

    x = np.array([1.0, 2.0, 3.0], np.float32)
    torch_parity(
        lambda w, v: through_graph(cnnlab, w, v),
        lambda w, v: through_graph(torch, w, v),
        [x, x[:1] + 1],
    )


def test_in_place_operator_on_a_parameter_follows_torch_rules():
    a = cnnlab.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="sub_: a leaf tensor that requires grad"):
        a -= 1
    with cnnlab.no_grad():
        b = a
        a -= 0.25  # in place: the same object, still a leaf that requires grad
    assert a is b and a.item() == 0.75 and a.requires_grad and a.is_leaf
    with pytest.raises(RuntimeError, match="__setitem__: a leaf tensor"):
        a[...] = 0.0

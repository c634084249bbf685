import math

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab.ops.activation import ReLU
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity

# name -> (cnnlab fn, torch fn, per-element reference, kinks to keep gradcheck away from)
ELEMENTWISE = {
    "relu": (F.relu, lambda t: torch.relu(t), lambda v: max(v, 0.0), (0.0,)),
    "leaky_relu": (
        lambda x: F.leaky_relu(x, 0.2),
        lambda t: torch.nn.functional.leaky_relu(t, 0.2),
        lambda v: v if v > 0 else 0.2 * v,
        (0.0,),
    ),
    "relu6": (F.relu6, lambda t: torch.nn.functional.relu6(t), lambda v: min(max(v, 0), 6), (0, 6)),
    "hardtanh": (
        lambda x: F.hardtanh(x, -2.0, 3.0),
        lambda t: torch.nn.functional.hardtanh(t, -2.0, 3.0),
        lambda v: min(max(v, -2.0), 3.0),
        (-2, 3),
    ),
    "elu": (
        lambda x: F.elu(x, 1.5),
        lambda t: torch.nn.functional.elu(t, 1.5),
        lambda v: v if v > 0 else 1.5 * (math.exp(v) - 1),
        (0.0,),
    ),
    "sigmoid": (F.sigmoid, lambda t: torch.sigmoid(t), lambda v: 1 / (1 + math.exp(-v)), ()),
    "tanh": (F.tanh, lambda t: torch.tanh(t), math.tanh, ()),
    "silu": (F.silu, lambda t: torch.nn.functional.silu(t), lambda v: v / (1 + math.exp(-v)), ()),
    "gelu": (
        F.gelu,
        lambda t: torch.nn.functional.gelu(t),
        lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))),
        (),
    ),
    "gelu_tanh": (
        lambda x: F.gelu(x, approximate="tanh"),
        lambda t: torch.nn.functional.gelu(t, approximate="tanh"),
        lambda v: 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3))),
        (),
    ),
}
SHAPES = [(7,), (3, 4), (2, 3, 2, 2)]


def _away_from(x, kinks, gap=0.05):
    for k in kinks:
        x = np.where(np.abs(x - k) < gap, k + 0.3, x)
    return x


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_forward_matches_loop(name):
    fn, _, ref, _ = ELEMENTWISE[name]
    x = seeded().uniform(-8, 9, size=(4, 5))
    x[0, :3] = (0.0, 6.0, -2.0)
    expected = np.array([ref(float(v)) for v in x.ravel()]).reshape(x.shape)
    np.testing.assert_allclose(fn(cnnlab.tensor(x)).numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_gradcheck(name, shape):
    fn, _, _, kinks = ELEMENTWISE[name]
    x = _away_from(seeded(1).uniform(-4, 8, size=shape), kinks)
    check_gradients(fn, [x])


@requires_torch
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_torch_parity(name, shape):
    fn, tfn, _, kinks = ELEMENTWISE[name]
    x = seeded(2).uniform(-4, 8, size=shape).astype(np.float32)
    flat = x.reshape(-1)
    for i, k in enumerate(kinks):  # exact kink values: gradient conventions must match
        flat[i] = k
    torch_parity(fn, tfn, [x], rtol=1e-5, atol=1e-6)


def test_kink_gradients_follow_torch_conventions():
    x = cnnlab.tensor([0.0, 6.0, -0.0], requires_grad=True)
    (g,) = cnnlab.grad(F.relu(x).sum(), x)
    np.testing.assert_array_equal(g, [0, 1, 0])
    (g,) = cnnlab.grad(F.relu6(x).sum(), x)
    np.testing.assert_array_equal(g, [0, 0, 0])
    (g,) = cnnlab.grad(F.leaky_relu(x, 0.1).sum(), x)
    np.testing.assert_allclose(g, [0.1, 1, 0.1])
    (g,) = cnnlab.grad(F.elu(x, 2.0).sum(), x)
    np.testing.assert_allclose(g, [2, 1, 2])


def test_sigmoid_and_softmax_are_stable_for_huge_inputs():
    x = cnnlab.tensor(np.array([[-1e4, 0.0, 1e4]], dtype=np.float32), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_array_equal(F.sigmoid(x).numpy(), [[0, 0.5, 1]])
        np.testing.assert_allclose(F.softmax(x, 1).numpy(), [[0, 0, 1]])
        np.testing.assert_allclose(F.log_softmax(x, 1).numpy(), [[-2e4, -1e4, 0]])
        F.log_softmax(x, 1).sum().backward()
    assert np.isfinite(x.grad).all()


SOFTMAX_CASES = [((5,), 0), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -1), ((2, 3, 2, 2), 1)]


@pytest.mark.parametrize("fname", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES)
def test_softmax_forward_matches_loop(fname, shape, dim):
    x = seeded().standard_normal(shape) * 3
    moved = np.moveaxis(x, dim, -1)
    ref = np.empty_like(moved)
    for idx in np.ndindex(*moved.shape[:-1]):
        row = moved[idx]
        e = [math.exp(v) for v in row]
        s = sum(e)
        ref[idx] = [v / s for v in e] if fname == "softmax" else [v - math.log(s) for v in row]
    out = getattr(F, fname)(cnnlab.tensor(x), dim).numpy()
    np.testing.assert_allclose(out, np.moveaxis(ref, -1, dim), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("fname", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES)
def test_softmax_gradcheck(fname, shape, dim):
    check_gradients(lambda x: getattr(F, fname)(x, dim), [seeded(3).standard_normal(shape)])


@requires_torch
@pytest.mark.parametrize("fname", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES)
def test_softmax_torch_parity(fname, shape, dim):
    x = (seeded(4).standard_normal(shape) * 5).astype(np.float32)
    torch_parity(
        lambda t: getattr(F, fname)(t, dim),
        lambda t: getattr(torch, fname)(t, dim),
        [x],
        atol=1e-5,
    )


def test_tensor_methods_route_to_functional():
    x = cnnlab.tensor(seeded().standard_normal((2, 3)))
    np.testing.assert_allclose(x.relu().numpy(), F.relu(x).numpy())
    np.testing.assert_allclose(x.softmax(1).numpy(), F.softmax(x, 1).numpy())
    np.testing.assert_allclose(x.log_softmax(0).numpy(), F.log_softmax(x, 0).numpy())
    np.testing.assert_allclose(x.sigmoid().numpy(), F.sigmoid(x).numpy())


@pytest.mark.parametrize(
    "rule,expected",
    [
        (lambda ctx, g: (g * (ctx > 0) * (g > 0),), lambda x, c: c * (x > 0) * (c > 0)),  # guided
        (lambda ctx, g: (g * (g > 0),), lambda x, c: c * (c > 0)),  # deconvnet
    ],
    ids=["guided", "deconvnet"],
)
def test_override_backward_sees_relu_output(rule, expected):
    rng = seeded(5)
    x_np, c = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    x = cnnlab.tensor(x_np, requires_grad=True)
    loss = (F.relu(x) * cnnlab.tensor(c)).sum()
    with cnnlab.override_backward(ReLU, rule):
        (g,) = cnnlab.grad(loss, x, retain_graph=True)
    np.testing.assert_allclose(g, expected(x_np, c))
    (plain,) = cnnlab.grad(loss, x)  # the override is gone outside the block
    np.testing.assert_allclose(plain, c * (x_np > 0))


def test_errors_name_the_function():
    x = cnnlab.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="softmax"):
        F.softmax(x, 2)
    with pytest.raises(ValueError, match="hardtanh"):
        F.hardtanh(x, 1.0, -1.0)
    with pytest.raises(ValueError, match="gelu"):
        F.gelu(x, approximate="erf")


# ------------------------------------------------------------- softplus and prelu
def _softplus_loop(x, beta, threshold):
    out = np.empty_like(x)
    for i, v in np.ndenumerate(x):
        out[i] = v if beta * v > threshold else np.log1p(np.exp(beta * v)) / beta
    return out


SOFTPLUS = [(1.0, 20.0), (2.0, 1.5), (0.5, 3.0)]


@pytest.mark.parametrize("beta,threshold", SOFTPLUS)
def test_softplus_forward_matches_loop_and_gradcheck(beta, threshold):
    x = seeded(7).standard_normal((3, 5)) * 4
    np.testing.assert_allclose(
        F.softplus(cnnlab.tensor(x), beta, threshold).numpy(), _softplus_loop(x, beta, threshold)
    )
    check_gradients(lambda t: F.softplus(t, beta, threshold), [x])


@requires_torch
@pytest.mark.parametrize("beta,threshold", SOFTPLUS)
def test_softplus_torch_parity(beta, threshold):
    x = (seeded(8).standard_normal((4, 6)) * 4).astype(np.float32)
    torch_parity(
        lambda t: F.softplus(t, beta, threshold),
        lambda t: torch.nn.functional.softplus(t, beta, threshold),
        [x],
    )


PRELU = [((2, 3, 4, 5), (3,)), ((2, 3, 4), (1,)), ((4, 3), (3,))]


@pytest.mark.parametrize("xs,ws", PRELU)
def test_prelu_forward_matches_loop_and_gradcheck(xs, ws):
    rng = seeded(9)
    x, w = rng.standard_normal(xs), rng.random(ws)
    want = np.empty_like(x)
    for i, v in np.ndenumerate(x):
        slope = w[0] if w.size == 1 else w[i[1]]
        want[i] = v if v > 0 else slope * v
    np.testing.assert_allclose(F.prelu(cnnlab.tensor(x), cnnlab.tensor(w)).numpy(), want)
    check_gradients(F.prelu, [x, w])


@requires_torch
@pytest.mark.parametrize("xs,ws", PRELU)
def test_prelu_torch_parity(xs, ws):
    rng = seeded(10)
    x, w = rng.standard_normal(xs).astype(np.float32), rng.random(ws).astype(np.float32)
    torch_parity(F.prelu, torch.nn.functional.prelu, [x, w])


def test_prelu_and_softplus_errors_name_the_function():
    x = cnnlab.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"prelu: expected a weight of shape \(1,\) or \(C,\)"):
        F.prelu(x, cnnlab.tensor(np.ones(4)))
    with pytest.raises(ValueError, match="softplus: beta must be non-zero"):
        F.softplus(x, 0.0)

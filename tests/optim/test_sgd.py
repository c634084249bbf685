"""SGD against torch.optim.SGD, plus the Optimizer base (groups, zero_grad, state_dict).

The helpers here (a tiny two-layer tanh MLP trained by cnnlab and by PyTorch from the same
start) are shared with test_adam.py and test_lr_scheduler.py.
"""

import numpy as np
import pytest

import cnnlab
from cnnlab.nn.parameter import Parameter
from cnnlab.optim import SGD, Optimizer
from tests.helpers import requires_torch, seeded, torch

SHAPES = {"w1": (4, 3), "b1": (4,), "w2": (2, 4), "b2": (2,)}
DTYPES = [(np.float32, 1e-5), (np.float64, 1e-10)]


def make_problem(dtype, seed: int = 0):
    """Data ``(X, Y)`` and initial parameter arrays of a 3-4-2 tanh MLP."""
    rng = seeded(seed)
    x = rng.standard_normal((8, 3)).astype(dtype)
    y = rng.standard_normal((8, 2)).astype(dtype)
    init = [(0.7 * rng.standard_normal(s)).astype(dtype) for s in SHAPES.values()]
    return x, y, init


def mlp_loss(params, x, y):
    """Mean squared error of a 3-4-2 MLP whose tanh is the composite (e^a - e^-a)/(e^a + e^-a)."""
    w1, b1, w2, b2 = params
    a = x @ w1.T + b1
    h = (a.exp() - (-a).exp()) / (a.exp() + (-a).exp())
    return ((h @ w2.T + b2 - y) ** 2).mean()


def torch_mlp_loss(params, x, y):
    w1, b1, w2, b2 = params
    return ((torch.tanh(x @ w1.T + b1) @ w2.T + b2 - y) ** 2).mean()


def train_cnnlab(make_opt, x, y, init, steps=20, make_sched=None, params=None, opt=None):
    """Train with cnnlab; ``make_opt(cnnlab.optim, params)`` builds the optimiser.
    Returns ``(params, opt, sched, lrs)``."""
    params = params or [Parameter(a.copy()) for a in init]
    opt = opt or make_opt(cnnlab.optim, params)
    sched = make_sched(cnnlab.optim.lr_scheduler, opt) if make_sched else None
    xt, yt = cnnlab.tensor(x), cnnlab.tensor(y)
    lrs = []
    for _ in range(steps):
        opt.zero_grad()
        mlp_loss(params, xt, yt).backward()
        opt.step()
        if sched is not None:
            sched.step()
        lrs.append([g["lr"] for g in opt.param_groups])
    return params, opt, sched, lrs


def train_torch(make_opt, x, y, init, steps=20, make_sched=None):
    params = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt = make_opt(torch.optim, params)
    sched = make_sched(torch.optim.lr_scheduler, opt) if make_sched else None
    xt, yt = torch.tensor(x), torch.tensor(y)
    for _ in range(steps):
        opt.zero_grad()
        torch_mlp_loss(params, xt, yt).backward()
        opt.step()
        if sched is not None:
            sched.step()
    return [p.detach().numpy() for p in params]


def assert_same_training(make_opt, dtype, tol, make_sched=None, steps=20):
    x, y, init = make_problem(dtype)
    ours = train_cnnlab(make_opt, x, y, init, steps, make_sched)[0]
    theirs = train_torch(make_opt, x, y, init, steps, make_sched)
    for name, p, t in zip(SHAPES, ours, theirs):
        assert p.dtype == dtype
        np.testing.assert_allclose(p.array, t, rtol=tol, atol=tol, err_msg=f"{name} differs")
    moved = max(np.abs(p.array - a).max() for p, a in zip(ours, init))
    assert moved > 1e-3, "the parameters barely moved: the comparison would prove nothing"


def assert_exact_resume(make_opt, make_sched=None, dtype=np.float64):
    """10 steps, save, rebuild, load, 10 more steps == 20 steps uninterrupted, bit for bit."""
    x, y, init = make_problem(dtype)
    full = train_cnnlab(make_opt, x, y, init, 20, make_sched)
    params, opt, sched, lrs = train_cnnlab(make_opt, x, y, init, 10, make_sched)
    opt_state = opt.state_dict()
    sched_state = sched.state_dict() if sched else None
    arrays = [p.array.copy() for p in params]
    train_cnnlab(make_opt, x, y, init, 3, make_sched, params, opt)  # saved dicts must not move
    new_params = [Parameter(a) for a in arrays]
    new_opt = make_opt(cnnlab.optim, new_params)
    new_sched = make_sched(cnnlab.optim.lr_scheduler, new_opt) if make_sched else None
    new_opt.load_state_dict(opt_state)
    if new_sched:
        new_sched.load_state_dict(sched_state)
    xt, yt = cnnlab.tensor(x), cnnlab.tensor(y)
    for _ in range(10):
        new_opt.zero_grad()
        mlp_loss(new_params, xt, yt).backward()
        new_opt.step()
        if new_sched:
            new_sched.step()
        lrs.append([g["lr"] for g in new_opt.param_groups])
    assert lrs == full[3]
    for p, q in zip(new_params, full[0]):
        np.testing.assert_array_equal(p.array, q.array)


SGD_CONFIGS = {
    "plain": dict(lr=0.1),
    "momentum": dict(lr=0.05, momentum=0.9),
    "dampening": dict(lr=0.05, momentum=0.9, dampening=0.9),
    "nesterov": dict(lr=0.05, momentum=0.8, nesterov=True),
    "weight_decay": dict(lr=0.05, momentum=0.5, weight_decay=0.1),
    "maximize": dict(lr=0.02, momentum=0.3, maximize=True),
    "all": dict(lr=0.01, momentum=0.7, nesterov=True, weight_decay=0.05, maximize=True),
}


@requires_torch
@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("config", SGD_CONFIGS)
def test_sgd_matches_torch(config, dtype, tol):
    kw = SGD_CONFIGS[config]
    assert_same_training(lambda optim, ps: optim.SGD(ps, **kw), dtype, tol)


@requires_torch
@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_sgd_param_groups_match_torch(dtype, tol):
    def make(optim, ps):
        groups = [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.01, "momentum": 0.5}]
        return optim.SGD(groups, lr=0.1, momentum=0.9)

    assert_same_training(make, dtype, tol)


def test_sgd_against_loop_reference():
    """Moving-average momentum (dampening=mu) on f(p) = 0.5 |p|^2, whose gradient is p."""
    lr, mu = 0.1, 0.9
    p = Parameter(np.array([1.0, -2.0]))
    opt = SGD([p], lr=lr, momentum=mu, dampening=mu)
    ref, m = p.array.copy(), None
    for _ in range(5):
        p.grad = p.array.copy()
        opt.step()
        m = ref.copy() if m is None else mu * m + (1 - mu) * ref
        ref = ref - lr * m
        np.testing.assert_allclose(p.array, ref, rtol=1e-14)


def test_sgd_validation():
    p = Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="SGD: invalid lr value"):
        SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="momentum"):
        SGD([p], lr=0.1, momentum=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Nesterov"):
        SGD([p], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match="weight_decay"):
        SGD([p], lr=0.1, weight_decay=-1)
    with pytest.raises(ValueError, match="SGD: invalid lr value"):
        SGD([{"params": [p], "lr": -1.0}], lr=0.1)


def test_optimizer_params_validation():
    p, q = Parameter(np.zeros(2)), Parameter(np.zeros(3))
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="Tensor"):
        SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="set"):
        SGD([{"params": {p, q}}], lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="more than one"):
        SGD([{"params": [p]}, {"params": [p, q]}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        SGD([p * 2], lr=0.1)


def test_param_groups_defaults_and_add_param_group():
    p, q = Parameter(np.zeros(2)), Parameter(np.zeros(3))
    opt = SGD([p], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": q, "lr": 0.01})
    assert isinstance(opt, Optimizer)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["params"] == [q]
    assert "Parameter Group 1" in repr(opt)


def test_zero_grad_and_skip_none():
    p, q = Parameter(np.ones(2)), Parameter(np.ones(3))
    opt = SGD([p, q], lr=0.1, momentum=0.9)
    p.grad = np.ones(2)
    opt.step()  # q has no gradient: unchanged and no state
    np.testing.assert_array_equal(p.array, [0.9, 0.9])
    np.testing.assert_array_equal(q.array, np.ones(3))
    assert q not in opt.state and p in opt.state
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and not g.any() and q.grad is None
    opt.zero_grad()
    assert p.grad is None


def test_updates_are_in_place():
    p = Parameter(np.ones(3))
    data = p.array
    p.grad = np.ones(3)
    SGD([p], lr=0.5).step()
    assert p.array is data
    np.testing.assert_array_equal(data, 0.5)


def test_closure_returns_loss():
    p = Parameter(np.array([3.0]))
    opt = SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss.item()) == 9.0
    np.testing.assert_allclose(p.array, [1.5])


@pytest.mark.parametrize("config", ["plain", "momentum", "nesterov", "all"])
def test_sgd_exact_resume(config):
    kw = SGD_CONFIGS[config]
    assert_exact_resume(lambda optim, ps: optim.SGD(ps, **kw))


def test_state_dict_layout_and_string_keys():
    x, y, init = make_problem(np.float32)
    params, opt, _, _ = train_cnnlab(
        lambda optim, ps: optim.SGD([{"params": ps[:1]}, {"params": ps[1:]}], lr=0.1, momentum=0.9),
        x,
        y,
        init,
        2,
    )
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1, 2, 3]]
    assert sorted(sd["state"]) == [0, 1, 2, 3]
    buf = sd["state"][0]["momentum_buffer"]
    assert isinstance(buf, np.ndarray) and buf is not opt.state[params[0]]["momentum_buffer"]
    # a JSON round trip turns the integer keys into strings: still loadable
    sd["state"] = {str(k): v for k, v in sd["state"].items()}
    new = SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.5)
    new.load_state_dict(sd)
    assert new.param_groups[0]["lr"] == 0.1 and new.param_groups[1]["momentum"] == 0.9
    np.testing.assert_array_equal(new.state[params[0]]["momentum_buffer"], buf)
    assert new.state[params[0]]["momentum_buffer"].dtype == np.float32


def test_load_state_dict_validation():
    p, q = Parameter(np.zeros(2)), Parameter(np.zeros(3))
    p.grad, q.grad = np.ones(2), np.ones(3)
    opt = SGD([{"params": [p]}, {"params": [q]}], lr=0.1, momentum=0.9)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="2 parameter groups but this optimizer has 1"):
        SGD([p, q], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="group 1 has 1 parameters in the state dict but 2"):
        r = Parameter(np.zeros(1))
        SGD([{"params": [p]}, {"params": [q, r]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="shape"):
        SGD([{"params": [q]}, {"params": [p]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})

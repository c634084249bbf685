"""Adam and AdamW against torch.optim, a loop reference, validation and exact resume."""

import numpy as np
import pytest

from cnnlab.nn.parameter import Parameter
from cnnlab.optim import Adam, AdamW
from tests.helpers import requires_torch
from tests.optim.test_sgd import DTYPES, assert_exact_resume, assert_same_training

ADAM_CONFIGS = {
    "default": ("Adam", dict(lr=0.01)),
    "betas_eps": ("Adam", dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6)),
    "amsgrad": ("Adam", dict(lr=0.02, amsgrad=True)),
    "weight_decay": ("Adam", dict(lr=0.01, weight_decay=0.1)),
    "maximize": ("Adam", dict(lr=0.01, maximize=True, amsgrad=True)),
    "adamw": ("AdamW", dict(lr=0.01)),
    "adamw_wd_amsgrad": ("AdamW", dict(lr=0.02, weight_decay=0.3, amsgrad=True)),
    "adamw_big_beta1": ("AdamW", dict(lr=0.01, betas=(0.3, 0.9))),  # lerp's other branch
}


@requires_torch
@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("config", ADAM_CONFIGS)
def test_adam_matches_torch(config, dtype, tol):
    cls, kw = ADAM_CONFIGS[config]
    assert_same_training(lambda optim, ps: getattr(optim, cls)(ps, **kw), dtype, tol)


@requires_torch
@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_adam_param_groups_match_torch(dtype, tol):
    def make(optim, ps):
        groups = [{"params": ps[:2], "lr": 0.03, "weight_decay": 0.1}, {"params": ps[2:]}]
        return optim.AdamW(groups, lr=0.005, betas=(0.85, 0.99))

    assert_same_training(make, dtype, tol)


def test_adam_against_loop_reference():
    """Adam written out as in the paper, with PyTorch's placement of eps."""
    lr, (b1, b2), eps, wd = 0.1, (0.9, 0.999), 1e-8, 0.05
    rng = np.random.default_rng(3)
    p = Parameter(rng.standard_normal(5))
    ref, m, v, vmax = p.array.copy(), 0.0, 0.0, 0.0
    opt = Adam([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, amsgrad=True)
    for t in range(1, 8):
        grad = np.sin(3 * p.array) + p.array**3  # any function of p
        p.grad = grad.copy()
        opt.step()
        g = np.sin(3 * ref) + ref**3 + wd * ref
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        ref = ref - lr / (1 - b1**t) * m / (np.sqrt(vmax) / np.sqrt(1 - b2**t) + eps)
        np.testing.assert_allclose(p.array, ref, rtol=1e-12, atol=1e-14)
    assert opt.state[p]["step"] == 7.0


def test_adamw_decouples_weight_decay():
    """With a zero gradient, AdamW only shrinks the weights; Adam's L2 term moves them by ~lr."""
    p, q = Parameter(np.full(3, 2.0)), Parameter(np.full(3, 2.0))
    p.grad, q.grad = np.zeros(3), np.zeros(3)
    AdamW([p], lr=0.1, weight_decay=0.5).step()
    Adam([q], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(p.array, 2.0 * (1 - 0.1 * 0.5))
    np.testing.assert_allclose(q.array, 2.0 - 0.1, rtol=1e-7)
    assert AdamW([p]).param_groups[0]["weight_decay"] == 1e-2


def test_adam_and_adamw_reject_bad_hyperparameters_naming_them():
    p = Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="Adam: invalid lr value: -1.0"):
        Adam([p], lr=-1.0)
    with pytest.raises(ValueError, match="Adam: invalid eps value: -1.0"):
        Adam([p], eps=-1.0)
    with pytest.raises(ValueError, match="beta parameter at index 0"):
        Adam([p], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        AdamW([p], betas=(0.9, -0.1))
    with pytest.raises(ValueError, match="weight_decay"):
        AdamW([p], weight_decay=-0.1)


@pytest.mark.parametrize("config", ["default", "amsgrad", "adamw_wd_amsgrad"])
def test_adam_exact_resume(config):
    cls, kw = ADAM_CONFIGS[config]
    assert_exact_resume(lambda optim, ps: getattr(optim, cls)(ps, **kw))


def test_adam_state_dict_contents():
    p = Parameter(np.ones((2, 2), dtype=np.float32))
    p.grad = np.ones((2, 2), dtype=np.float32)
    opt = Adam([p], lr=0.1, amsgrad=True)
    opt.step()
    sd = opt.state_dict()
    assert sorted(sd["state"][0]) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
    assert sd["state"][0]["step"] == 1.0
    group = sd["param_groups"][0]
    assert group["params"] == [0] and group["betas"] == (0.9, 0.999) and group["amsgrad"]
    assert sd["state"][0]["exp_avg"].dtype == np.float32

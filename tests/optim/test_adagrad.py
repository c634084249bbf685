"""Adagrad against torch.optim.Adagrad, validation and exact resume."""

import numpy as np
import pytest

from cnnlab.nn.parameter import Parameter
from tests.helpers import requires_torch
from tests.optim.test_sgd import DTYPES, assert_exact_resume, assert_same_training

CONFIGS = {
    "default": dict(),
    "lr_decay": dict(lr=0.1, lr_decay=0.05),
    "accumulator_eps": dict(lr=0.05, initial_accumulator_value=0.3, eps=1e-3),
    "weight_decay": dict(lr=0.05, weight_decay=0.2),
    "maximize": dict(lr=0.03, maximize=True, lr_decay=0.01),
}


@requires_torch
@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("config", CONFIGS)
def test_adagrad_matches_torch(config, dtype, tol):
    assert_same_training(lambda optim, ps: optim.Adagrad(ps, **CONFIGS[config]), dtype, tol)


def test_adagrad_state_made_at_construction_and_resumes():
    from cnnlab.optim import Adagrad

    p = Parameter(np.zeros(3))
    opt = Adagrad([p], initial_accumulator_value=0.5)
    np.testing.assert_array_equal(opt.state_dict()["state"][0]["sum"], [0.5] * 3)
    assert_exact_resume(lambda optim, ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.01))
    with pytest.raises(ValueError, match="Adagrad: invalid lr_decay value: -1"):
        Adagrad([p], lr_decay=-1)

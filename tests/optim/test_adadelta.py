"""Adadelta against torch.optim.Adadelta, validation and exact resume."""

import pytest

from tests.helpers import requires_torch
from tests.optim.test_sgd import DTYPES, assert_exact_resume, assert_same_training

CONFIGS = {
    "default": dict(),
    "lr_rho_eps": dict(lr=0.5, rho=0.8, eps=1e-4),
    "weight_decay": dict(lr=2.0, weight_decay=0.1),
    "maximize": dict(lr=1.0, maximize=True, weight_decay=0.05),
}


@requires_torch
@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("config", CONFIGS)
def test_adadelta_matches_torch(config, dtype, tol):
    assert_same_training(lambda optim, ps: optim.Adadelta(ps, **CONFIGS[config]), dtype, tol)


def test_adadelta_resumes_exactly_and_validates():
    from cnnlab.optim import Adadelta

    assert_exact_resume(lambda optim, ps: optim.Adadelta(ps, lr=0.7, weight_decay=0.01))
    with pytest.raises(ValueError, match="Adadelta: invalid rho value: 1.5"):
        Adadelta([], rho=1.5)
    with pytest.raises(ValueError, match="Adadelta: invalid lr value: -1"):
        Adadelta([], lr=-1)

"""NAdam against torch.optim.NAdam, validation and exact resume."""

import pytest

from tests.helpers import requires_torch
from tests.optim.test_sgd import DTYPES, assert_exact_resume, assert_same_training

CONFIGS = {
    "default": dict(),
    "betas_eps": dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6),
    "momentum_decay": dict(lr=0.01, momentum_decay=0.05),
    "weight_decay": dict(lr=0.01, weight_decay=0.1),
    "decoupled": dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
    "maximize": dict(lr=0.005, maximize=True),
}


@requires_torch
@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("config", CONFIGS)
def test_nadam_matches_torch(config, dtype, tol):
    assert_same_training(lambda optim, ps: optim.NAdam(ps, **CONFIGS[config]), dtype, tol)


def test_nadam_resumes_exactly_and_validates():
    from cnnlab.optim import NAdam

    assert_exact_resume(lambda optim, ps: optim.NAdam(ps, lr=0.01, weight_decay=0.01))
    with pytest.raises(ValueError, match=r"NAdam: invalid beta parameter at index 1: 1.0"):
        NAdam([], betas=(0.9, 1.0))

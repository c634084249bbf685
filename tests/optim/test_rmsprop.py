"""RMSprop against torch.optim.RMSprop, validation and exact resume."""

import numpy as np
import pytest

from tests.helpers import requires_torch
from tests.optim.test_sgd import DTYPES, assert_exact_resume, assert_same_training

CONFIGS = {
    "default": dict(),
    "alpha_eps": dict(lr=0.005, alpha=0.9, eps=1e-4),
    "centered": dict(lr=0.01, centered=True),
    "momentum": dict(lr=0.005, momentum=0.9),
    "centered_momentum_wd": dict(lr=0.003, centered=True, momentum=0.5, weight_decay=0.1),
    "centered_small_alpha": dict(lr=0.001, alpha=0.5, centered=True),  # lerp's other branch
    "maximize": dict(lr=0.01, maximize=True, momentum=0.3),
}


@requires_torch
@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("config", CONFIGS)
def test_rmsprop_matches_torch(config, dtype, tol):
    if config == "centered_small_alpha" and dtype == np.float32:
        tol = 1e-3  # sqrt(v - m * m) cancels when alpha is small: float32 rounding shows
    assert_same_training(lambda optim, ps: optim.RMSprop(ps, **CONFIGS[config]), dtype, tol)


def test_rmsprop_resumes_exactly_and_validates():
    from cnnlab.optim import RMSprop

    assert_exact_resume(lambda optim, ps: optim.RMSprop(ps, centered=True, momentum=0.9))
    with pytest.raises(ValueError, match="RMSprop: invalid alpha value: -0.1"):
        RMSprop([], alpha=-0.1)

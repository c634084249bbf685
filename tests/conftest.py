import numpy as np
import pytest

import cnnlab


@pytest.fixture(autouse=True)
def _seed():
    cnnlab.manual_seed(0)
    np.random.seed(0)  # noqa: NPY002 - third-party code may use the legacy global
    yield

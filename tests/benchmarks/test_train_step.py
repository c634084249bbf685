"""benchmarks.train_step names the kernels cnnlab ran."""

import numpy as np

import cnnlab
import cnnlab.nn.functional as F
from tests.helpers import requires_torch


@requires_torch
def test_kernels_ran_names_the_backend_of_each_op():
    from benchmarks.train_step import kernels_ran

    with cnnlab.set_kernels("reference"):
        F.relu(cnnlab.tensor(np.ones((2, 3), np.float32)))
        text = kernels_ran()
    assert text.startswith("kernels (reference): ")
    assert "relu/float32 reference" in text

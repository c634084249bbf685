"""benchmarks.train_step names the kernels cnnlab ran, and its twins compute the same thing."""

import numpy as np
import pytest

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


@requires_torch
@pytest.mark.parametrize("name", ["efficientnet-ft-train", "resnet20-infer"])
def test_twins_compute_the_same_loss_and_torch_fused_the_same_logits(name):
    from benchmarks import train_step as ts

    w = next(w for w in ts.WORKLOADS if w.name == name)
    x, y = ts.batch(w)
    x, y = x[:4], y[:4]
    ours, theirs = ts.build(w)
    ts.check_same_loss(ours, theirs, w, x, y)  # raises SystemExit where they disagree
    if not w.train:
        _, other = ts.build(w)
        theirs_fused = ts.torch_step(other, w, x, y, fused=True)()
        with cnnlab.no_grad():
            logits = ours.eval()(cnnlab.tensor(x)).numpy()
        np.testing.assert_allclose(logits, theirs_fused.numpy(), rtol=1e-4, atol=1e-4)

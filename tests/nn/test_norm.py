"""Batch normalisation layers (cnnlab/nn/layers/norm.py): batch statistics in training,
running statistics in eval, the cumulative average and untracked statistics."""

import numpy as np

import cnnlab
from cnnlab import nn


def test_batchnorm_train_and_eval():
    bn = nn.BatchNorm2d(3, momentum=0.1)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 3, 4, 4)) * np.array([2, 3, 4])[None, :, None, None] + 5
    x = x.astype(np.float32)
    y = bn(cnnlab.tensor(x)).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=(0, 2, 3)), 1, atol=1e-3)
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3), ddof=1)  # running var: unbiased
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * var, rtol=1e-5)
    assert bn.num_batches_tracked.item() == 1
    bn(cnnlab.tensor(x))
    assert bn.num_batches_tracked.item() == 2

    bn.eval()
    rm, rv = bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()
    y = bn(cnnlab.tensor(x)).numpy()
    ref = (x - rm[None, :, None, None]) / np.sqrt(rv[None, :, None, None] + bn.eps)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    assert bn.num_batches_tracked.item() == 2  # eval leaves the statistics alone
    np.testing.assert_array_equal(bn.running_mean.numpy(), rm)

    bn.reset_running_stats()
    assert bn.num_batches_tracked.item() == 0 and np.all(bn.running_var.numpy() == 1)


def test_batchnorm_cumulative_and_untracked():
    bn = nn.BatchNorm1d(2, momentum=None)
    a = np.array([[1, 2], [3, 4]], np.float32)
    b = np.array([[5, 6], [7, 10]], np.float32)
    bn(cnnlab.tensor(a))
    bn(cnnlab.tensor(b))
    np.testing.assert_allclose(bn.running_mean.numpy(), (a.mean(0) + b.mean(0)) / 2)
    free = nn.BatchNorm1d(2, track_running_stats=False)
    assert "running_mean" not in free.state_dict() and free.running_mean is None
    free.eval()
    y = free(cnnlab.tensor(a)).numpy()  # no running stats: batch statistics even in eval
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-6)

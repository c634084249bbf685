"""SyncBatchNorm in a world of one equals BatchNorm; its gradients check numerically."""

import numpy as np
import pytest

import cnnlab
from cnnlab import nn
from cnnlab.distributed import SyncBatchNorm, convert_sync_batchnorm
from cnnlab.distributed.sync_batchnorm import SyncBatchNormFn
from tests.helpers import check_gradients


def _pair(c, dtype=np.float64):
    bn = nn.BatchNorm2d(c, dtype=dtype)
    sync = convert_sync_batchnorm(nn.BatchNorm2d(c, dtype=dtype))
    for m in (bn, sync):
        m.weight.array[:] = np.linspace(0.5, 2.0, c)
        m.bias.array[:] = np.linspace(-1.0, 1.0, c)
    return bn, sync


@pytest.mark.parametrize("shape", [(4, 3, 5, 5), (2, 2, 3, 1)])
def test_one_rank_matches_batchnorm_forward_backward_and_running_stats(shape):
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=shape), rng.normal(size=shape)
    results = []
    for m in _pair(shape[1]):
        t = cnnlab.tensor(x, requires_grad=True)
        y = m(t)
        (y * cnnlab.tensor(g)).sum().backward()
        results.append(
            [y.numpy(), t.grad.numpy(), m.weight.grad.numpy(), m.bias.grad.numpy()]
            + [m.running_mean.numpy(), m.running_var.numpy(), m.num_batches_tracked.numpy()]
        )
    for ours, ref in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


def test_eval_mode_uses_the_running_statistics():
    bn, sync = _pair(3)
    for m in (bn, sync):
        m.running_mean.array[:] = [0.1, 0.2, 0.3]
        m.eval()
    x = cnnlab.tensor(np.random.default_rng(1).normal(size=(2, 3, 4, 4)))
    np.testing.assert_allclose(sync(x).numpy(), bn(x).numpy())


def test_gradcheck():
    x = np.random.default_rng(2).normal(size=(3, 2, 3, 3))
    w, b = np.array([0.7, 1.3]), np.array([0.1, -0.2])

    check_gradients(lambda x, w, b: SyncBatchNormFn.apply(x, w, b, eps=1e-5), [x, w, b])


def test_convert_keeps_the_parameter_objects_and_reaches_nested_layers():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sequential(nn.BatchNorm2d(2), nn.ReLU()))
    weight = model[1][0].weight
    stats = model[1][0].running_mean
    convert_sync_batchnorm(model)
    assert isinstance(model[1][0], SyncBatchNorm)
    assert model[1][0].weight is weight and model[1][0].running_mean is stats
    assert any(p is weight for p in model.parameters())

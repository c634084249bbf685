"""The graph holds nodes, not intermediate tensors: activations are freed when no op saved
them, and hooks, retain_grad and in-place changes still behave as PyTorch's."""

import gc
import weakref

import numpy as np

import cnnlab
import cnnlab.nn.functional as F
from tests.helpers import requires_torch, torch


def _leaf(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return cnnlab.tensor(rng.standard_normal(shape), requires_grad=True)


def test_an_activation_no_op_saved_is_freed_before_backward():
    # regression: nodes held their input tensors, so every conv output in a VGG stayed
    # alive until backward (96 MiB of 395 in benchmarks.train_step's vgg-style workload)
    x = _leaf(4, 5)
    h = x + 1.0  # Add saves nothing
    freed = weakref.ref(h.array)
    y = F.relu(h)  # ReLU saves its output, not h
    del h
    gc.collect()
    assert freed() is None
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (x.numpy() + 1 > 0).astype(np.float64))


def test_a_hook_on_a_tensor_nobody_holds_still_fires():
    # explain's forward hooks register a gradient hook on a layer's output and drop it
    seen = []
    x = _leaf(3, 4)
    h = x * 2.0
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    h.retain_grad()
    kept = weakref.ref(h)
    y = (h.exp()).sum()
    del h
    gc.collect()
    y.backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], np.exp(2 * x.numpy()))
    np.testing.assert_allclose(kept().grad.numpy(), np.exp(2 * x.numpy()))


@requires_torch
def test_an_in_place_change_after_use_routes_gradients_as_pytorch():
    # regression: an op that used t before t.mul_(3) sent its gradient through the mul_
    # (t's new node), multiplying it by 3; it belongs to t's value before the change
    xv = np.random.default_rng(1).standard_normal((2, 3))
    x = cnnlab.tensor(xv, requires_grad=True)
    t = x * 1.0
    z = t + 1.0
    t.mul_(3.0)
    (z.sum() + t.sum()).backward()
    tx = torch.tensor(xv, requires_grad=True)
    tt = tx * 1.0
    tz = tt + 1.0
    tt.mul_(3.0)
    (tz.sum() + tt.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_grad_with_respect_to_an_intermediate_tensor():
    x = _leaf(2, 2)
    h = x * 3.0
    y = (h * h).sum()
    (g,) = cnnlab.autograd.grad(y, h)
    np.testing.assert_allclose(g.numpy(), 2 * h.numpy())

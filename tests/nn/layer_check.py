"""``run_layer_test``: the one helper every layer test uses (after Keras' ``run_layer_test``).

It checks, for one layer and input: the output shape and dtype, the parameter count, that a
``state_dict`` loaded into a fresh copy (re-initialised with another seed) reproduces the
output, the train/eval toggle, that one manual SGD step changes every trainable parameter
(or, for a parameter-free layer, that a gradient reaches the input), and that ``repr`` works.
"""

from __future__ import annotations

import copy

import numpy as np

import cnnlab
from cnnlab.nn import Module


def _as_tensor(a, requires_grad: bool) -> cnnlab.Tensor:
    if isinstance(a, cnnlab.Tensor):
        return cnnlab.tensor(a.array, requires_grad=requires_grad and a.dtype.kind == "f")
    a = np.asarray(a)
    return cnnlab.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f")


def _reinit(module: Module) -> None:
    for m in module.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()


def _first(out):
    return out[0] if isinstance(out, tuple) else out


def run_layer_test(
    layer: Module,
    input_shape: tuple | None = None,
    *,
    inputs: tuple | None = None,
    expected_output_shape: tuple | None = None,
    expected_num_params: int | None = None,
    dtype=np.float32,
    seed: int = 0,
    lr: float = 0.1,
    check_grad: bool = True,
    factory=None,
):
    """Run the standard layer checks; returns the (train-mode) output.

    Give either ``input_shape`` (a standard-normal input of that shape is used) or ``inputs``
    (a tuple of arrays/Tensors passed positionally, e.g. ``(logits, targets)`` for a loss).
    ``factory()`` builds the fresh instance for the state_dict round trip (default: a deep
    copy of ``layer`` re-initialised with another seed).
    """
    rng = np.random.default_rng(seed)
    if inputs is None:
        assert input_shape is not None, "give input_shape or inputs"
        inputs = (rng.standard_normal(input_shape).astype(dtype),)
    name = type(layer).__name__

    # repr works and shows the configuration
    text = repr(layer)
    assert isinstance(text, str) and text.startswith(name), text
    assert layer.extra_repr() in text

    # parameter count (shared parameters once); every parameter is a leaf that needs grad
    params = list(layer.parameters())
    n = sum(p.numel() for p in params)
    if expected_num_params is not None:
        assert n == expected_num_params, f"{name}: {n} parameters, expected {expected_num_params}"
    assert layer.num_parameters() == n

    # train/eval toggle reaches every submodule and returns the module
    assert layer.eval() is layer and not any(m.training for m in layer.modules())
    assert layer.train() is layer and all(m.training for m in layer.modules())

    # forward in training mode: shape and dtype
    xs = tuple(_as_tensor(a, requires_grad=True) for a in inputs)
    out = _first(layer(*xs))
    if expected_output_shape is not None:
        assert out.shape == tuple(expected_output_shape), (
            f"{name}: output shape {out.shape}, expected {tuple(expected_output_shape)}"
        )
    float_in = next((x for x in xs if x.dtype.kind == "f"), None)
    if float_in is not None:
        assert out.dtype == float_in.dtype, f"{name}: output dtype {out.dtype} != input dtype"

    # one SGD-like step changes every trainable parameter (or a gradient reaches the input)
    if check_grad and (params or (float_in is not None and float_in.requires_grad)):
        layer.zero_grad()
        c = np.random.default_rng(seed + 1).standard_normal(out.shape).astype(out.dtype)
        (out * cnnlab.tensor(c)).sum().backward()
        for pname, p in layer.named_parameters():
            if not p.requires_grad:
                continue
            assert p.grad is not None, f"{name}: parameter {pname} got no gradient"
            assert p.grad.shape == p.shape and np.all(np.isfinite(p.grad)), pname
            before = p.array.copy()
            with cnnlab.no_grad():
                p.array -= lr * p.grad
            assert not np.array_equal(before, p.array), f"{name}: SGD step left {pname} unchanged"
        if not params:
            assert float_in.grad is not None, f"{name}: no gradient reached the input"
            assert float_in.grad.shape == float_in.shape
        layer.zero_grad()
        assert all(p.grad is None for p in layer.parameters())

    # state_dict round trip into a fresh copy (different init) reproduces the eval output
    layer.eval()
    with cnnlab.no_grad():
        ref = _first(layer(*xs)).numpy().copy()
    cnnlab.manual_seed(seed + 12345)
    if factory is not None:
        fresh = factory().eval()
    else:
        fresh = copy.deepcopy(layer)
        _reinit(fresh)
    sd = layer.state_dict()
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    missing, unexpected = fresh.load_state_dict(sd)
    assert missing == [] and unexpected == []
    with cnnlab.no_grad():
        again = _first(fresh(*xs)).numpy()
    np.testing.assert_allclose(
        again,
        ref,
        rtol=1e-6,
        atol=1e-6,
        err_msg=f"{name}: state_dict round trip changed the output",
    )
    for k, v in fresh.state_dict().items():
        np.testing.assert_array_equal(v, sd[k], err_msg=f"{name}: {k} not restored")
    layer.train()
    return out

"""Module: registration, traversal, modes, state_dict, hooks, dtype conversion, repr."""

import copy

import numpy as np
import pytest

import cnnlab
from cnnlab import nn
from cnnlab.nn import Module, Parameter, StateDictError


class Affine(Module):
    """A tiny layer built only on Module and Tensor arithmetic (no functionals needed)."""

    def __init__(self, n: int = 3) -> None:
        super().__init__()
        self.n = n
        self.weight = Parameter(np.arange(1, n + 1, dtype=np.float32))
        self.bias = Parameter(np.zeros(n, np.float32))
        self.register_buffer("count", cnnlab.tensor(np.array(0, np.int64)))
        self.register_buffer("scratch", cnnlab.zeros(n), persistent=False)

    def extra_repr(self) -> str:
        return f"n={self.n}"

    def forward(self, x):
        return x * self.weight + self.bias


class Net(Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = Affine()
        self.b = Affine()
        self.scale = Parameter(np.ones(1, np.float32))

    def forward(self, x):
        return self.b(self.a(x)) * self.scale


def test_registration_and_names():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "a.weight", "a.bias", "b.weight", "b.bias"]
    assert [n for n, _ in net.named_buffers()] == ["a.count", "a.scratch", "b.count", "b.scratch"]
    assert [n for n, _ in net.named_children()] == ["a", "b"]
    assert [n for n, _ in net.named_modules()] == ["", "a", "b"]
    assert list(net.children()) == [net.a, net.b]
    assert len(list(net.modules())) == 3
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in net.named_parameters(prefix="model")][0] == "model.scale"
    assert net.get_submodule("a") is net.a and net.get_submodule("") is net
    assert net.num_parameters() == 1 + 4 * 3


def test_setattr_registers_parameters_and_buffers_and_refuses_plain_tensors_as_parameters():
    m = Affine()
    m.weight = None  # a registered parameter may be set to None...
    assert m.weight is None and "weight" not in dict(m.named_parameters())
    with pytest.raises(TypeError, match="Parameter or None"):
        m.bias = cnnlab.zeros(3)  # ...but not to a plain Tensor
    m.count = cnnlab.tensor(np.array(5))  # buffers accept Tensors
    assert m.count.item() == 5
    m.plain = 3  # ordinary attributes stay ordinary
    assert m.plain == 3 and "plain" not in m.state_dict()
    del m.count
    assert "count" not in m._buffers
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        m.missing

    class Bad(Module):
        def __init__(self):
            self.w = Parameter(np.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Bad()


def test_shared_parameters_listed_once():
    net = Net()
    net.b.weight = net.a.weight
    assert len(list(net.parameters())) == 4
    assert net.num_parameters() == 1 + 3 * 3
    # state_dict keeps both keys, as torch does
    assert "a.weight" in net.state_dict() and "b.weight" in net.state_dict()


def test_train_eval_requires_grad_zero_grad_apply():
    net = Net()
    assert net.training and net.a.training
    assert net.eval() is net and not net.a.training and not net.b.training
    net.train()
    assert net.b.training
    with pytest.raises(ValueError):
        net.train("yes")
    out = net(cnnlab.ones(3)).sum()
    out.backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    assert net.num_parameters(trainable_only=True) == 0
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Affine", "Affine", "Net"]


def test_state_dict_copies_and_order():
    net = Net()
    sd = net.state_dict()
    assert list(sd) == ["scale", "a.weight", "a.bias", "a.count", "b.weight", "b.bias", "b.count"]
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    sd["a.weight"][:] = 99  # a copy: the model is unchanged
    assert net.a.weight.array[0] == 1
    assert net.state_dict(keep_vars=True)["a.weight"] is net.a.weight


def test_load_state_dict_in_place_and_cast():
    src, dst = Net(), Net()
    src.a.weight.array[:] = [4, 5, 6]
    src.a.count.array[...] = 7
    sd = src.state_dict()
    sd["b.bias"] = sd["b.bias"].astype(np.float64) + 1.5  # cast to the parameter's dtype
    sd["scale"] = cnnlab.tensor(np.array([2.0], np.float32))  # Tensors are fine too
    weight_obj, weight_arr = dst.a.weight, dst.a.weight.array
    result = dst.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert dst.a.weight is weight_obj and dst.a.weight.array is weight_arr  # in place
    np.testing.assert_array_equal(dst.a.weight.array, [4, 5, 6])
    assert dst.b.bias.dtype == np.float32 and dst.b.bias.array[0] == 1.5
    assert dst.a.count.item() == 7 and dst.a.count.dtype == np.int64
    assert dst.scale.array[0] == 2.0


def test_load_state_dict_strict_errors_list_every_key():
    net = Net()
    sd = net.state_dict()
    del sd["a.bias"], sd["b.count"]
    sd["extra.weight"] = np.zeros(2)
    sd["a.weight"] = np.zeros(5, np.float32)
    before = net.a.weight.array.copy()
    with pytest.raises(StateDictError) as info:
        net.load_state_dict(sd)
    msg = str(info.value)
    for key in ("'a.bias'", "'b.count'", "'extra.weight'", "a.weight", "(5,)", "(3,)", "Net"):
        assert key in msg, (key, msg)
    assert "Missing key(s)" in msg and "Unexpected key(s)" in msg and "size mismatch" in msg
    np.testing.assert_array_equal(net.a.weight.array, before)  # nothing loaded on error
    assert isinstance(info.value, RuntimeError)  # torch raises RuntimeError here

    # strict=False: missing/unexpected are returned, but a shape mismatch still raises
    with pytest.raises(StateDictError, match="size mismatch"):
        net.load_state_dict(sd, strict=False)
    sd["a.weight"] = np.full(3, 2, np.float32)
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["a.bias", "b.count"] and unexpected == ["extra.weight"]
    np.testing.assert_array_equal(net.a.weight.array, [2, 2, 2])


def test_forward_hooks_capture_and_remove():
    net = Net()
    seen = []
    h = net.a.register_forward_hook(lambda m, inp, out: seen.append((m, inp, out)))
    x = cnnlab.ones(3)
    y = net(x)
    assert len(seen) == 1 and seen[0][0] is net.a and seen[0][1][0] is x
    np.testing.assert_array_equal(seen[0][2].numpy(), [1, 2, 3])
    h.remove()
    net(x)
    assert len(seen) == 1
    # a returned value replaces the output; a pre-hook can replace the inputs
    h1 = net.register_forward_hook(lambda m, inp, out: out * 0)
    h2 = net.a.register_forward_pre_hook(lambda m, inp: (inp[0] * 2,))
    assert net(x).numpy().sum() == 0
    h1.remove()
    np.testing.assert_allclose(net(x).numpy(), 2 * y.numpy())
    h2.remove()
    np.testing.assert_allclose(net(x).numpy(), y.numpy())


def test_to_double_float_in_place():
    net = Net()
    p = net.a.weight
    net(cnnlab.ones(3)).sum().backward()
    assert net.double() is net
    assert net.a.weight is p and p.dtype == np.float64 and p.grad.dtype == np.float64
    assert net.a.scratch.dtype == np.float64
    assert net.a.count.dtype == np.int64  # integer buffers keep their dtype
    assert net(cnnlab.ones(3, dtype=np.float64)).dtype == np.float64
    net.float()
    assert p.dtype == np.float32
    net.to(np.float64)
    assert p.dtype == np.float64
    with pytest.raises(ValueError):
        net.to(np.int32)
    assert net.to("cpu") is net


def test_repr_nested():
    text = repr(Net())
    assert text == "Net(\n  (a): Affine(n=3)\n  (b): Affine(n=3)\n)"


def test_deepcopy_is_independent():
    net = Net()
    twin = copy.deepcopy(net)
    twin.a.weight.array[:] = 0
    assert net.a.weight.array[0] == 1
    assert [n for n, _ in twin.named_parameters()] == [n for n, _ in net.named_parameters()]


def test_forward_not_implemented():
    with pytest.raises(NotImplementedError):
        Module()(1)


@pytest.mark.skipif(cnnlab.backend.has_cupy(), reason="CuPy is installed")
def test_to_cuda_without_cupy_says_why():
    with pytest.raises(RuntimeError, match="CuPy"):
        Net().to("cuda")


def test_zero_grad_keeping_tensors_gives_zeros_even_after_inf():
    """Regression: zero_grad(set_to_none=False) computed grad * 0, so inf became nan."""
    net = cnnlab.nn.Linear(2, 1)
    for p in net.parameters():
        p.grad = np.full(p.shape, np.inf, dtype=p.dtype)
    net.zero_grad(set_to_none=False)
    for p in net.parameters():
        np.testing.assert_array_equal(np.asarray(p.grad), np.zeros(p.shape))


# ------------------------------------------------------------------ with real layers
def _small_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(8 * 4 * 4, 5),
    )


def test_hooks_capture_feature_maps():
    model = _small_cnn()
    maps = {}
    handles = [
        m.register_forward_hook(lambda mod, inp, out, name=name: maps.__setitem__(name, out))
        for name, m in model.named_modules()
        if name
    ]
    model(cnnlab.zeros(2, 3, 8, 8))
    assert maps["0"].shape == (2, 8, 8, 8) and maps["3"].shape == (2, 8, 4, 4)
    assert maps["5"].shape == (2, 5)
    for h in handles:
        h.remove()
    maps.clear()
    model(cnnlab.zeros(2, 3, 8, 8))
    assert maps == {}


def test_double_converts_parameters_and_buffers_and_matches_float32_output():
    model = _small_cnn()
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8))
    y32 = model(cnnlab.tensor(x.astype(np.float32))).numpy()
    model.double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model[1].running_mean.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64
    model[1].num_batches_tracked.array[...] = 0
    y64 = model(cnnlab.tensor(x))
    assert y64.dtype == np.float64
    np.testing.assert_allclose(y64.numpy(), y32, rtol=1e-4, atol=1e-4)


def test_state_dict_errors_with_real_layers():
    model = _small_cnn()
    other = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    with pytest.raises(nn.StateDictError) as info:
        other.load_state_dict(model.state_dict())
    msg = str(info.value)
    assert "size mismatch for 0.weight" in msg and "(8, 3, 3, 3)" in msg and "(4, 3, 3, 3)" in msg
    assert "'5.weight'" in msg and "Unexpected" in msg and "1.running_var" in msg

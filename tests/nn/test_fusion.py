"""Batch norm folded into the convolution before it (cnnlab.nn.fusion), only when asked:
a model computes what its forward says until ``model.fuse()``; fused, the same answers as
the layers, and PyTorch's folded weights."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import cnnlab
from cnnlab import models, nn
from cnnlab.nn import fusion
from cnnlab.ops.norm import BatchNorm
from tests.helpers import requires_torch, seeded, torch


def _randomise_bn(model, seed=0):
    """Running statistics and affine parameters away from their initial 0/1."""
    rng = seeded(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.array[...] = rng.standard_normal(c)
            m.running_var.array[...] = rng.uniform(0.3, 3.0, c)
            if m.weight is not None:
                m.weight.array[...] = rng.standard_normal(c)
                m.bias.array[...] = rng.standard_normal(c)
    return model.eval()


class _Counts:
    """How many ReLU, hardtanh, add and batch-norm ops ran."""

    def __init__(self, monkeypatch):
        from cnnlab.ops.activation import Hardtanh, ReLU
        from cnnlab.ops.elementwise import Add

        self.n = {}
        for cls in (ReLU, Hardtanh, Add, BatchNorm):
            orig = cls.forward
            name = cls.__name__
            self.n[name] = 0

            def counted(*args, _orig=orig, _name=name, **kwargs):
                self.n[_name] += 1
                return _orig(*args, **kwargs)

            monkeypatch.setattr(cls, "forward", staticmethod(counted))


def _both(model, x):
    """(fused copy, model) outputs without gradients; the model itself stays unfused."""
    fused = copy.deepcopy(model).fuse()
    with cnnlab.no_grad():
        return fused(cnnlab.tensor(x)).numpy(), model(cnnlab.tensor(x)).numpy()


def _n_bn(model) -> int:
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


@pytest.mark.parametrize("name, size", [("resnet20", 32), ("resnet18", 64)])
def test_an_unfused_model_runs_every_layer_it_names(monkeypatch, name, size):
    # no optimisation behind the user's back: eval + no_grad still runs each batch norm
    model = _randomise_bn(models.create(name))
    counts = _Counts(monkeypatch)
    with cnnlab.no_grad():
        model(cnnlab.tensor(seeded(2).standard_normal((1, 3, size, size)).astype(np.float32)))
    assert counts.n["BatchNorm"] == _n_bn(model)


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-4), (np.float64, 1e-10)])
@pytest.mark.parametrize("bias, affine, groups", [(0, 1, 1), (1, 0, 1), (1, 1, 4)])
def test_fuse_folds_a_sequentials_conv_bn_with_the_same_answer(
    monkeypatch, dtype, tol, bias, affine, groups
):
    model = nn.Sequential(
        nn.Conv2d(8, 12, 3, padding=1, bias=bool(bias), groups=groups, dtype=dtype),
        nn.BatchNorm2d(12, affine=bool(affine), dtype=dtype),
        nn.ReLU(),
        nn.Conv2d(12, 5, 1, dtype=dtype),
        nn.BatchNorm2d(5, dtype=dtype),
    )
    _randomise_bn(model)
    x = seeded(1).standard_normal((3, 8, 7, 6)).astype(dtype)
    counts = _Counts(monkeypatch)
    fused, plain = _both(model, x)
    assert counts.n["BatchNorm"] == 2 and counts.n["ReLU"] == 1  # the unfused pass only
    assert fused.dtype == dtype
    np.testing.assert_allclose(fused, plain, rtol=tol, atol=tol)


def test_fuse_replaces_layers_by_the_folded_conv_and_identities():
    model = _randomise_bn(
        nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))
    )
    assert model.fuse() is model
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["ConvAct2d", "Identity", "Identity", "MaxPool2d"]
    assert _n_bn(model) == 0


def test_a_conv_straight_into_its_activation_becomes_one_pass(monkeypatch):
    # regression: fuse() folded only conv + batch norm runs, so LeNet-5 (conv, ReLU, pool)
    # ran its ReLUs as separate passes, where the old engine's Sequential fused them
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 4, 3))
    x = seeded(7).standard_normal((4, 3, 12, 12)).astype(np.float32)
    counts = _Counts(monkeypatch)
    fused, plain = _both(model, x)
    fused_model = copy.deepcopy(model).eval().fuse()
    kinds = [type(m).__name__ for m in fused_model]
    assert kinds == ["ConvAct2d", "Identity", "MaxPool2d", "Conv2d"]
    assert counts.n["ReLU"] == 1  # the unfused pass only
    np.testing.assert_allclose(fused, plain, rtol=1e-5, atol=1e-5)
    by_name = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU6())
    fusion.fuse_modules(by_name, [["0", "1"]])
    assert [type(m).__name__ for m in by_name] == ["ConvAct2d", "Identity"]


@pytest.mark.parametrize("name, size", [("resnet20", 32), ("resnet18", 64)])
def test_zoo_resnets_fold_every_batch_norm(monkeypatch, name, size):
    model = _randomise_bn(models.create(name))
    x = seeded(2).standard_normal((2, 3, size, size)).astype(np.float32)
    counts = _Counts(monkeypatch)
    fused, plain = _both(model, x)
    assert counts.n["BatchNorm"] == _n_bn(model)  # only the unfused pass ran them
    np.testing.assert_allclose(fused, plain, rtol=1e-4, atol=1e-4 * np.abs(plain).max())


def test_efficientnet_folds_through_its_tf_padding(monkeypatch):
    model = _randomise_bn(models.create("efficientnet_lite0", num_classes=10, image_size=64))
    x = seeded(3).random((2, 3, 64, 64)).astype(np.float32)
    counts = _Counts(monkeypatch)
    fused, plain = _both(model, x)
    assert counts.n["BatchNorm"] == _n_bn(model)
    n_relu6 = sum(isinstance(m, nn.ReLU6) for m in model.modules())
    assert counts.n["Hardtanh"] == n_relu6  # every ReLU6 ran as a post-op of its conv
    np.testing.assert_allclose(fused, plain, rtol=1e-4, atol=1e-4 * np.abs(plain).max())


def _pair():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    return _randomise_bn(model), seeded(4).standard_normal((2, 3, 6, 6)).astype(np.float32)


def test_fuse_needs_eval_mode_and_names_the_layer():
    model, _ = _pair()
    model.train()
    with pytest.raises(ValueError, match=r"batch norm '1' is in training mode.*eval\(\)"):
        model.fuse()


def test_a_fused_model_still_trains():
    model, x = _pair()
    model = nn.Sequential(*model, nn.ReLU()).fuse()
    out = model(cnnlab.tensor(x))  # gradients recorded: conv then ReLU, as layers
    out.sum().backward()
    assert model[0].conv.weight.grad is not None and model[0].conv.bias.grad is not None
    with cnnlab.no_grad():
        np.testing.assert_allclose(model(cnnlab.tensor(x)).numpy(), out.numpy(), rtol=1e-6)


def test_a_hooked_layer_is_left_as_it_is(monkeypatch):
    model, x = _pair()
    seen = []
    model[0].register_forward_hook(lambda m, i, o: seen.append(o.numpy().copy()))
    model.fuse()
    assert isinstance(model[1], nn.BatchNorm2d)  # the hook still sees the conv's own output
    with cnnlab.no_grad():
        model(cnnlab.tensor(x))
    np.testing.assert_allclose(seen[0], model[0](cnnlab.tensor(x)).numpy(), rtol=1e-6)


def test_a_shared_or_hooked_activation_runs_as_itself(monkeypatch):
    relu = nn.ReLU()
    model = _randomise_bn(
        nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), relu, nn.Conv2d(4, 4, 1), relu)
    )
    model.fuse()
    assert model[2] is relu and type(model[0]) is nn.Conv2d  # relu is used twice
    hooked = nn.ReLU()
    hooked.register_forward_hook(lambda m, i, o: None)
    other = _randomise_bn(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), hooked)).fuse()
    assert other[2] is hooked and isinstance(other[1], nn.Identity)


def test_a_subclass_with_its_own_forward_is_not_folded():
    class Doubled(nn.Conv2d):
        def forward(self, x):
            return super().forward(x) * 2

    model = _randomise_bn(nn.Sequential(Doubled(3, 4, 3), nn.BatchNorm2d(4))).fuse()
    assert isinstance(model[1], nn.BatchNorm2d)


def test_fuse_modules_by_name_and_its_errors():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn, self.act = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU6()

        def forward(self, x):
            return self.act(self.bn(self.conv(x)))

    net = _randomise_bn(Net())
    x = seeded(5).standard_normal((2, 3, 6, 6)).astype(np.float32)
    with cnnlab.no_grad():
        want = net(cnnlab.tensor(x)).numpy()
    fusion.fuse_modules(net, ["conv", "bn", "act"])
    assert isinstance(net.conv, fusion.ConvAct2d) and isinstance(net.act, nn.Identity)
    with cnnlab.no_grad():
        np.testing.assert_allclose(net(cnnlab.tensor(x)).numpy(), want, rtol=1e-5, atol=1e-5)
    with pytest.raises(KeyError, match="no submodule 'nope'"):
        fusion.fuse_modules(_randomise_bn(Net()), [["conv", "nope"]])
    with pytest.raises(ValueError, match=r"\[conv, bn\], \[conv, act\] or \[conv, bn, act\]"):
        fusion.fuse_modules(_randomise_bn(Net()), [["conv"]])
    with pytest.raises(TypeError, match="ConvAct2d: act must be ReLU"):
        fusion.ConvAct2d(nn.Conv2d(3, 4, 3), nn.Sigmoid())


def test_fuse_conv_bn_eval_returns_a_folded_copy():
    model, x = _pair()
    conv, bn = model[0], model[1]
    w0 = conv.weight.numpy().copy()
    fused = fusion.fuse_conv_bn_eval(conv, bn)
    with cnnlab.no_grad():
        want = bn(conv(cnnlab.tensor(x))).numpy()
        got = fused(cnnlab.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(conv.weight.numpy(), w0)  # the original is untouched
    assert fused.bias is not None and conv.bias is not None


def test_fuse_conv_bn_eval_errors_name_the_problem():
    conv, bn = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)
    with pytest.raises(ValueError, match="eval mode"):
        fusion.fuse_conv_bn_eval(conv, bn)
    with pytest.raises(ValueError, match="4 output channels, batch norm 5"):
        fusion.fuse_conv_bn_eval(conv, nn.BatchNorm2d(5).eval())
    with pytest.raises(TypeError, match="Conv2d and a BatchNorm2d, got Linear"):
        fusion.fuse_conv_bn_eval(nn.Linear(3, 4), bn.eval())


@requires_torch
def test_folded_weights_match_pytorchs_fuse_conv_bn_eval():
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    model, x = _pair()
    conv, bn = model[0], model[1]
    tconv, tbn = torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)
    with torch.no_grad():
        tconv.weight.copy_(torch.from_numpy(conv.weight.numpy()))
        tconv.bias.copy_(torch.from_numpy(conv.bias.numpy()))
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(tbn, name).copy_(torch.from_numpy(np.asarray(getattr(bn, name).array)))
    tfused = fuse_conv_bn_eval(tconv.eval(), tbn.eval())
    w, b = fusion.fold_conv_bn(conv.weight, conv.bias, bn)
    np.testing.assert_allclose(w, tfused.weight.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(b, tfused.bias.detach().numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("act", [nn.ReLU(), nn.ReLU6(), nn.Hardtanh(-0.5, 0.5)])
def test_the_activation_runs_as_a_post_op_of_the_folded_conv(monkeypatch, act):
    model = _randomise_bn(nn.Sequential(nn.Conv2d(4, 24, 3, padding=1), nn.BatchNorm2d(24), act))
    x = seeded(6).standard_normal((8, 4, 16, 16)).astype(np.float32)
    counts = _Counts(monkeypatch)
    fused, plain = _both(model, x)
    name = "ReLU" if isinstance(act, nn.ReLU) else "Hardtanh"
    assert counts.n[name] == 1 and counts.n["BatchNorm"] == 1  # the unfused pass only
    np.testing.assert_allclose(fused, plain, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kernels", ["auto", "numpy"])
def test_a_nan_pixel_reaches_the_output_as_unfused(kernels):
    # oneDNN's post-op ReLU would turn NaN into 0: the fused conv checks its inputs first
    model = _randomise_bn(models.create("resnet20"))
    x = seeded(8).standard_normal((2, 3, 32, 32)).astype(np.float32)
    x[1, 0, 5, 5] = np.nan
    with cnnlab.set_kernels(kernels):
        fused, plain = _both(model, x)
    assert np.isnan(plain[1]).all() and not np.isnan(plain[0]).any()
    np.testing.assert_array_equal(np.isnan(fused), np.isnan(plain))

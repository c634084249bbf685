"""Batch norm folded into the convolution before it (cnnlab.nn.fusion): the same answers as
the two layers, folded only where nothing visible changes, and PyTorch's folded weights."""

from __future__ import annotations

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


class _Count:
    """How many batch-norm ops ran (the folded path runs none)."""

    def __init__(self, monkeypatch):
        self.n = 0
        orig = BatchNorm.forward

        def counted(*args, **kwargs):
            self.n += 1
            return orig(*args, **kwargs)

        monkeypatch.setattr(BatchNorm, "forward", staticmethod(counted))


def _both(model, x):
    """(folded, unfolded) outputs without gradients."""
    with cnnlab.no_grad():
        folded = model(cnnlab.tensor(x)).numpy()
        with fusion.fold_batch_norm(False):
            plain = model(cnnlab.tensor(x)).numpy()
    return folded, plain


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-4), (np.float64, 1e-10)])
@pytest.mark.parametrize("bias, affine, groups", [(0, 1, 1), (1, 0, 1), (1, 1, 4)])
def test_sequential_folds_conv_bn_with_the_same_answer(
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
    count = _Count(monkeypatch)
    with cnnlab.no_grad():
        folded = model(cnnlab.tensor(x)).numpy()
    assert count.n == 0  # both batch norms folded away
    with cnnlab.no_grad(), fusion.fold_batch_norm(False):
        plain = model(cnnlab.tensor(x)).numpy()
    assert count.n == 2
    assert folded.dtype == dtype
    np.testing.assert_allclose(folded, plain, rtol=tol, atol=tol)


@pytest.mark.parametrize("name, size", [("resnet20", 32), ("resnet18", 64)])
def test_zoo_resnets_fold_every_batch_norm(monkeypatch, name, size):
    model = _randomise_bn(models.create(name))
    x = seeded(2).standard_normal((2, 3, size, size)).astype(np.float32)
    count = _Count(monkeypatch)
    folded, plain = _both(model, x)
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert count.n == n_bn  # only the unfolded pass ran them
    np.testing.assert_allclose(folded, plain, rtol=1e-4, atol=1e-4 * np.abs(plain).max())


def test_efficientnet_folds_through_its_tf_padding(monkeypatch):
    model = _randomise_bn(models.create("efficientnet_lite0", num_classes=10, image_size=64))
    x = seeded(3).random((2, 3, 64, 64)).astype(np.float32)
    count = _Count(monkeypatch)
    folded, plain = _both(model, x)
    assert count.n == sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    np.testing.assert_allclose(folded, plain, rtol=1e-4, atol=1e-4 * np.abs(plain).max())


def _pair():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    return _randomise_bn(model), seeded(4).standard_normal((2, 3, 6, 6)).astype(np.float32)


def test_not_folded_while_recording_gradients_or_training(monkeypatch):
    model, x = _pair()
    count = _Count(monkeypatch)
    out = model(cnnlab.tensor(x))  # eval, but gradients recorded: they must reach bn.weight
    out.sum().backward()
    assert count.n == 1 and model[1].weight.grad is not None
    model.train()
    with cnnlab.no_grad():
        model(cnnlab.tensor(x))
    assert count.n == 2  # training batch norm uses the batch's statistics: never folded


def test_not_folded_where_a_hook_watches_either_layer(monkeypatch):
    model, x = _pair()
    seen = []
    model[0].register_forward_hook(lambda m, i, o: seen.append(o.numpy().copy()))
    count = _Count(monkeypatch)
    with cnnlab.no_grad():
        model(cnnlab.tensor(x))
    assert count.n == 1 and len(seen) == 1  # the hook saw the conv's own output
    np.testing.assert_allclose(seen[0], model[0](cnnlab.tensor(x)).numpy(), rtol=1e-6)


def test_not_folded_for_a_subclass_with_its_own_forward(monkeypatch):
    class Doubled(nn.Conv2d):
        def forward(self, x):
            return super().forward(x) * 2

    model = _randomise_bn(nn.Sequential(Doubled(3, 4, 3), nn.BatchNorm2d(4)))
    count = _Count(monkeypatch)
    with cnnlab.no_grad():
        model(cnnlab.tensor(seeded(5).standard_normal((1, 3, 5, 5)).astype(np.float32)))
    assert count.n == 1


def test_folded_weights_follow_changed_parameters():
    model, x = _pair()
    before, _ = _both(model, x)
    model[1].running_mean.array += 1.0  # e.g. a further training epoch
    after, plain = _both(model, x)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, plain, rtol=1e-5, atol=1e-5)


def test_a_wrong_channel_count_still_gets_the_layers_message():
    model, x = _pair()
    with cnnlab.no_grad(), pytest.raises(ValueError, match=r"Conv2d.*3"):
        model(cnnlab.tensor(x[:, :2]))


def test_fuse_conv_bn_eval_returns_a_folded_copy():
    model, x = _pair()
    conv, bn = model[0], model[1]
    w0 = conv.weight.numpy().copy()
    fused = fusion.fuse_conv_bn_eval(conv, bn)
    with cnnlab.no_grad(), fusion.fold_batch_norm(False):
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


@pytest.mark.parametrize("act", [nn.ReLU(), nn.ReLU6(), nn.Hardtanh(-0.5, 0.5)])
def test_sequential_fuses_the_activation_after_conv_bn(monkeypatch, act):
    model = _randomise_bn(nn.Sequential(nn.Conv2d(4, 24, 3, padding=1), nn.BatchNorm2d(24), act))
    x = seeded(6).standard_normal((8, 4, 16, 16)).astype(np.float32)
    counts = _Counts(monkeypatch)
    folded, plain = _both(model, x)
    name = "ReLU" if isinstance(act, nn.ReLU) else "Hardtanh"
    assert counts.n[name] == 1 and counts.n["BatchNorm"] == 1  # the unfolded pass only
    np.testing.assert_allclose(folded, plain, rtol=1e-5, atol=1e-5)


def test_resnet20_runs_no_batch_norm_relu_or_add_of_its_own(monkeypatch):
    model = _randomise_bn(models.create("resnet20"))
    x = seeded(7).standard_normal((4, 3, 32, 32)).astype(np.float32)
    counts = _Counts(monkeypatch)
    with cnnlab.no_grad():
        folded = model(cnnlab.tensor(x)).numpy()
    assert counts.n == {"ReLU": 0, "Hardtanh": 0, "Add": 0, "BatchNorm": 0}
    with cnnlab.no_grad(), fusion.fold_batch_norm(False):
        plain = model(cnnlab.tensor(x)).numpy()
    assert counts.n["ReLU"] == 19 and counts.n["Add"] == 9 and counts.n["BatchNorm"] == 19
    np.testing.assert_allclose(folded, plain, rtol=1e-4, atol=1e-4 * np.abs(plain).max())


@pytest.mark.parametrize("kernels", ["auto", "numpy"])
def test_a_nan_pixel_reaches_the_output_as_unfused(kernels):
    # oneDNN's post-op ReLU would turn NaN into 0: the fused conv checks its inputs first
    model = _randomise_bn(models.create("resnet20"))
    x = seeded(8).standard_normal((2, 3, 32, 32)).astype(np.float32)
    x[1, 0, 5, 5] = np.nan
    with cnnlab.set_kernels(kernels):
        folded, plain = _both(model, x)
    assert np.isnan(plain[1]).all() and not np.isnan(plain[0]).any()
    np.testing.assert_array_equal(np.isnan(folded), np.isnan(plain))


def test_a_hooked_activation_runs_as_itself_after_the_folded_conv(monkeypatch):
    relu = nn.ReLU()
    seen = []
    relu.register_forward_hook(lambda m, i, o: seen.append(1))
    model = _randomise_bn(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), relu))
    x = seeded(9).standard_normal((2, 3, 6, 6)).astype(np.float32)
    counts = _Counts(monkeypatch)
    folded, plain = _both(model, x)
    assert seen == [1, 1] and counts.n["BatchNorm"] == 1 and counts.n["ReLU"] == 2
    np.testing.assert_allclose(folded, plain, rtol=1e-5, atol=1e-5)


def test_tracing_sees_the_layers_unfolded(monkeypatch):
    model, x = _pair()
    ops = []
    with cnnlab.no_grad(), cnnlab.autograd.trace(lambda fn, *a: ops.append(fn.__name__)):
        model(cnnlab.tensor(x))
    assert ops == ["Conv2d", "BatchNorm"]


def test_the_fused_conv_refuses_gradients():
    from cnnlab.ops.conv_fused import FusedConv2d

    x = cnnlab.tensor(np.ones((1, 2, 4, 4), np.float32), requires_grad=True)
    w = cnnlab.tensor(np.ones((3, 2, 1, 1), np.float32))
    with pytest.raises(RuntimeError, match="inference only"):
        FusedConv2d.apply(
            x, w, None, None, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1,
            act=("relu",),
        )  # fmt: skip


def test_a_float64_input_to_float32_layers_folds_in_float64():
    # regression: the folded weights were rounded to the layers' float32 (2.6e-6 off)
    model = _randomise_bn(models.create("resnet20"))
    x = seeded(10).standard_normal((2, 3, 32, 32))  # float64
    folded, plain = _both(model, x)
    assert folded.dtype == plain.dtype == np.float64
    np.testing.assert_allclose(folded, plain, rtol=1e-11, atol=1e-11)

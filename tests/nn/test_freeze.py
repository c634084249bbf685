"""nn.utils.freeze / unfreeze / param_groups: frozen parameters and batch norm statistics stay
bit-identical through optimiser steps; the rest trains; bad layer names get one clear line."""

import numpy as np
import pytest

import cnnlab
from cnnlab import nn, optim
from cnnlab.models.simple import FashionCNN
from cnnlab.nn.utils import freeze, frozen_names, head_name, param_groups, unfreeze


def _net():
    cnnlab.manual_seed(0)
    return FashionCNN(num_classes=3, in_channels=1, input_size=8, widths=(4, 6), dropout=0.0)


def _steps(model, opt, n=3):
    rng = np.random.default_rng(0)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(n):
        x = cnnlab.tensor(rng.standard_normal((5, 1, 8, 8)).astype(np.float32))
        loss = loss_fn(model(x), cnnlab.tensor(rng.integers(0, 3, 5)))
        opt.zero_grad()
        loss.backward()
        opt.step()


def _snapshot(model):
    return {
        k: np.array(v.array if hasattr(v, "array") else v) for k, v in model.state_dict().items()
    }


@pytest.mark.parametrize("make_opt", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-2, nesterov=True),
    lambda ps: optim.Adam(ps, lr=0.01, weight_decay=1e-2),
    lambda ps: optim.AdamW(ps, lr=0.01),
])  # fmt: skip
def test_frozen_parameters_and_bn_statistics_are_bit_identical_after_steps(make_opt):
    model = _net()
    names = freeze(model, up_to="features.1")  # the first conv and its batch norm
    assert names == ["features.0.weight", "features.1.weight", "features.1.bias"]
    assert frozen_names(model) == names
    before = _snapshot(model)
    _steps(model, make_opt(model.parameters()))
    after = _snapshot(model)
    for k in ("features.0.weight", "features.1.weight", "features.1.bias",
              "features.1.running_mean", "features.1.running_var"):  # fmt: skip
        assert np.array_equal(before[k], after[k]), k
    assert not model.features[1].training  # model.train() kept the frozen BN in eval mode
    assert model.features[5].training
    for k in ("features.4.weight", "features.5.running_mean", "classifier.1.weight"):
        assert not np.array_equal(before[k], after[k]), k


def test_freeze_everything_then_unfreeze_restores_training():
    model = _net()
    freeze(model)
    assert len(frozen_names(model)) == len(list(model.parameters()))
    unfreeze(model)
    assert frozen_names(model) == []
    model.train()
    assert all(m.training for m in model.modules())


def test_bn_eval_false_lets_frozen_batch_norm_follow_the_model():
    model = _net()
    freeze(model, up_to="features.1", bn_eval=False)
    model.train()
    assert model.features[1].training


def test_bad_layer_name_is_one_clear_line():
    with pytest.raises(ValueError, match=r"no layer 'features.42'.*features.0, features.1") as e:
        freeze(_net(), up_to="features.42")
    assert "\n" not in str(e.value)


def test_param_groups_give_the_head_and_body_their_rates_and_skip_frozen():
    model = _net()
    assert head_name(model) == "classifier.1"
    freeze(model, up_to="features.1")
    groups = param_groups(model, lr=0.1, lr_body=0.01, weight_decay=5e-4)
    by = {g["name"]: g for g in groups}
    assert by["head"]["lr"] == 0.1 and by["body"]["lr"] == 0.01
    assert by["body-no-decay"]["weight_decay"] == 0.0 and by["head"]["weight_decay"] == 5e-4
    ids = {id(p) for g in groups for p in g["params"]}
    assert id(model.features[0].weight) not in ids
    assert len(ids) == sum(p.requires_grad for p in model.parameters())
    opt = optim.SGD(groups, lr=1.0)
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in groups]

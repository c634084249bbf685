"""Recipes: data names, limits, augmentation, normalisation, model and optimiser building."""

import numpy as np
import pytest

from cnnlab import data, nn
from cnnlab.train import recipes


def test_digits_loaders_info_and_limit():
    cfg = {**recipes.DEFAULTS, "data": "digits", "limit": 100, "batch_size": 32}
    train, test, info = recipes.build_loaders(cfg)
    assert len(train.dataset) == 100 and len(test.dataset) == len(data.Digits(train=False))
    assert info["in_channels"] == 1 and info["input_size"] == [8, 8]
    assert info["classes"] == [str(d) for d in range(10)]
    x, y = next(iter(train))
    assert x.shape == (32, 1, 8, 8) and y.dtype == np.int64
    xs = np.concatenate([b[0].numpy() for b in test])  # normalised with the computed stats
    assert abs(xs.mean()) < 0.2 and 0.7 < xs.std() < 1.3


def test_augmentation_changes_training_batches_only():
    cfg = {**recipes.DEFAULTS, "data": "digits", "augment": True, "batch_size": 64}
    train, test, _ = recipes.build_loaders(cfg)
    plain, _, _ = recipes.build_loaders({**cfg, "augment": False})
    assert not np.allclose(next(iter(train))[0].numpy(), next(iter(plain))[0].numpy())
    assert isinstance(train.dataset.transform.transforms[0], data.transforms.RandomAffine)
    assert len(test.dataset.transform.transforms) == 1  # only Normalize


def test_val_split_holds_out_unaugmented_training_images():
    cfg = {**recipes.DEFAULTS, "data": "digits", "limit": 200, "val_split": 0.25}
    cfg.update(augment=True, batch_size=32)
    train, val, test, _ = recipes.build_split_loaders(cfg)
    assert len(train.dataset) == 150 and len(val.dataset) == 50
    assert len(test.dataset) == len(data.Digits(train=False))
    seen = np.concatenate([train.dataset.indices, val.dataset.indices])
    assert sorted(seen) == list(range(200))  # a partition of the first 200 images
    assert len(val.dataset.dataset.transform.transforms) == 1  # only Normalize
    assert isinstance(train.dataset.dataset.transform.transforms[0], data.transforms.RandomAffine)
    again = recipes.build_split_loaders(cfg)[1]  # seeded: the same split every time
    np.testing.assert_array_equal(again.dataset.indices, val.dataset.indices)
    other = recipes.build_split_loaders({**cfg, "seed": 1})[1]
    assert set(other.dataset.indices) != set(val.dataset.indices)
    train0, val0, _, _ = recipes.build_split_loaders({**cfg, "val_split": 0.0})
    assert val0 is None and len(train0.dataset) == 200


@pytest.mark.parametrize("split", [1.0, -0.1, 0.001])
def test_val_split_errors(split):
    cfg = {**recipes.DEFAULTS, "data": "digits", "limit": 100, "val_split": split}
    with pytest.raises(ValueError, match="val-split"):
        recipes.build_split_loaders(cfg)


def test_unknown_data_name():
    with pytest.raises(data.DatasetError, match="unknown data 'nope'"):
        recipes.load_datasets("nope")


def test_build_model_passes_the_input_size_and_optimizer_groups():
    cfg = {**recipes.DEFAULTS}
    info = {"num_classes": 4, "in_channels": 3, "input_size": [32, 32]}
    model = recipes.build_model(cfg, info)
    assert cfg["model_options"] == {"input_size": 32}
    assert model.classifier[-1].out_features == 4
    opt = recipes.build_optimizer(cfg, model)
    decays = [g["weight_decay"] for g in opt.param_groups]
    assert decays == [cfg["weight_decay"], 0.0]
    assert all(p.ndim > 1 for p in opt.param_groups[0]["params"])
    with pytest.raises(ValueError, match="optimizer"):
        recipes.build_optimizer({**cfg, "optimizer": "rmsprop"}, nn.Linear(2, 2))


@pytest.mark.parametrize("name, cls", [("sgd", "SGD"), ("adam", "Adam"), ("adamw", "AdamW")])
def test_build_optimizer_builds_the_named_class(name, cls):
    """Regression: --optimizer adam used to build AdamW."""
    from cnnlab import optim

    opt = recipes.build_optimizer({"optimizer": name, "weight_decay": 1e-4}, nn.Linear(3, 2))
    assert type(opt) is getattr(optim, cls)
    assert [g["weight_decay"] for g in opt.param_groups] == [1e-4, 0.0]  # no decay on biases


def test_build_optimizer_rejects_an_unknown_name():
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop': expected one of sgd, adam"):
        recipes.build_optimizer({"optimizer": "rmsprop"}, nn.Linear(3, 2))


def test_test_limit_keeps_the_first_test_images():
    cfg = {**recipes.DEFAULTS, "data": "digits", "test_limit": 50}
    _, test, _ = recipes.build_loaders(cfg)
    full = data.Digits(train=False)
    assert len(test.dataset) == 50
    assert np.array_equal(test.dataset.targets, full.targets[:50])


def _lrs(cfg, steps_per_epoch=10):
    from cnnlab import optim

    opt = optim.SGD([nn.Parameter(np.zeros(2, np.float32))], lr=0.1)
    sched = recipes.build_scheduler(cfg, opt, steps_per_epoch)
    lrs = []
    for _ in range(cfg["epochs"] * steps_per_epoch):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(lrs)


def test_schedules_constant_and_steps():
    base = {**recipes.DEFAULTS, "epochs": 4, "warmup_epochs": 0}
    assert np.allclose(_lrs({**base, "schedule": "constant"}), 0.1)
    lrs = _lrs({**base, "schedule": "steps", "milestones": (0.5, 0.75)})
    assert np.allclose(lrs[:20], 0.1) and np.allclose(lrs[20:30], 0.01)
    assert np.allclose(lrs[30:], 0.001)
    cosine = _lrs(base)  # the default: decays from the peak towards zero
    assert cosine[0] == pytest.approx(0.1) and cosine[-1] < 0.01
    warm = _lrs({**base, "schedule": "constant", "warmup_epochs": 1})
    assert warm[0] < 0.01 and np.allclose(warm[10:], 0.1)


def test_unknown_schedule():
    from cnnlab import optim

    opt = optim.SGD([nn.Parameter(np.zeros(2, np.float32))], lr=0.1)
    with pytest.raises(ValueError, match="unknown schedule 'linear'"):
        recipes.build_scheduler({**recipes.DEFAULTS, "schedule": "linear"}, opt, 10)


@pytest.mark.parametrize("name", ["resnet20", "plain20", "vgg11_bn_cifar", "alexnet_small"])
def test_build_model_gives_input_size_only_to_factories_that_name_it(name):
    """Regression: `cnnlab train --model resnet20` failed: the factory's **options passed
    input_size on to CifarResNet, which does not take it."""
    cfg = {**recipes.DEFAULTS, "model": name}
    info = {"num_classes": 10, "in_channels": 1, "input_size": [28, 28]}
    model = recipes.build_model(cfg, info)
    assert sum(p.array.size for p in model.parameters()) > 0


def test_loaders_never_draw_from_the_global_generator():
    # regression: evaluation loaders had no seed, so their first pass drew one from the
    # global generator; where that draw fell moved the model's initialisation and broke
    # 'two MPI ranks train the same weights as one process' (tests/distributed)
    from cnnlab import backend

    cfg = {**recipes.DEFAULTS, "data": "digits", "limit": 64, "val_split": 0.25}
    backend.manual_seed(3)
    expected = backend.default_rng().integers(2**63)
    backend.manual_seed(3)
    for loader in recipes.build_split_loaders(cfg)[:3]:
        next(iter(loader))
    assert backend.default_rng().integers(2**63) == expected

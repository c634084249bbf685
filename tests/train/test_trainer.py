"""Trainer: logs, curves, checkpoints, divergence, and a smoke test on real Fashion-MNIST."""

import csv
import json
import math

import numpy as np
import pytest

import cnnlab
from cnnlab import data, models, nn, optim
from cnnlab.train import Trainer, TrainingDiverged, load_checkpoint, recipes
from cnnlab.train.evaluation import evaluate
from cnnlab.train.metrics_log import LOG_FIELDS


def digits_run(out_dir, epochs=2, lr=0.1, log_format="csv", **kw):
    cnnlab.manual_seed(0)
    train, test = data.Digits(train=True), data.Digits(train=False)
    model = models.create("fashion_cnn", input_size=8, widths=(8, 16))
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    return Trainer(
        model,
        nn.CrossEntropyLoss(),
        opt,
        None,
        data.DataLoader(train, 64, shuffle=True, seed=0),
        data.DataLoader(test, 256),
        epochs=epochs,
        out_dir=out_dir,
        log_format=log_format,
        progress=False,
        **kw,
    )


@pytest.mark.parametrize("log_format", ["csv", "jsonl"])
def test_fit_writes_logs_curves_and_checkpoints(tmp_path, log_format):
    trainer = digits_run(tmp_path, epochs=2, log_format=log_format, log_every=10)
    history = trainer.fit()
    assert [r["epoch"] for r in history] == [1, 2]
    assert history[-1]["val_acc"] > 0.8  # 8x8 digits are easy
    assert history[1]["loss"] < history[0]["loss"]
    log = tmp_path / f"metrics.{log_format}"
    if log_format == "csv":
        rows = list(csv.DictReader(log.open()))
        assert list(rows[0]) == LOG_FIELDS
    else:
        rows = [json.loads(line) for line in log.read_text().splitlines()]
    epochs = [r for r in rows if r["kind"] == "epoch"]
    steps = 2 * len(trainer.train_loader)
    assert len(epochs) == 2 and sum(r["kind"] == "step" for r in rows) == steps // 10
    assert float(epochs[-1]["val_acc"]) == pytest.approx(history[-1]["val_acc"])
    assert (tmp_path / "curves.png").stat().st_size > 1000
    assert load_checkpoint(tmp_path / "last.safetensors").epoch == 2
    best = load_checkpoint(tmp_path / "best.safetensors")
    assert best.metrics["best_acc"] == max(r["val_acc"] for r in history)


def test_the_evaluation_split_is_named_in_the_log_line_and_the_curves(tmp_path, capsys):
    from unittest import mock

    trainer = digits_run(tmp_path, epochs=1, val_name="test")
    trainer.progress = True
    with mock.patch("cnnlab.train.plots.plot_history") as plot:
        trainer.fit()
    err = capsys.readouterr().err
    assert "test_acc" in err and "val_acc" not in err
    assert plot.call_args.args[2] == "test"


def test_evaluate_restores_training_mode_and_counts_everything():
    trainer = digits_run(None, epochs=1)
    trainer.model.train()
    res = trainer.evaluate(trainer.val_loader, return_outputs=True)
    assert trainer.model.training
    assert res["n"] == len(trainer.val_loader.dataset) == len(res["targets"])
    assert res["logits"].shape == (res["n"], 10)
    assert res["acc"] == pytest.approx((res["logits"].argmax(1) == res["targets"]).mean())
    assert evaluate(trainer.model, trainer.val_loader)["acc"] == pytest.approx(res["acc"])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow on the way to inf is expected
def test_divergence_stops_with_a_clear_error_and_keeps_the_good_checkpoint(tmp_path):
    trainer = digits_run(tmp_path, epochs=3)
    trainer.epochs = 1
    trainer.fit()
    good = (tmp_path / "last.safetensors").read_bytes()
    trainer.epochs = 3
    for g in trainer.optimizer.param_groups:
        g["lr"] = 1e30
    with pytest.raises(TrainingDiverged, match=r"loss is (nan|inf).*epoch 2.*last\.safetensors"):
        trainer.fit()
    assert (tmp_path / "last.safetensors").read_bytes() == good


def test_trainer_without_train_loader_or_with_unknown_log_format_raises():
    model = nn.Linear(2, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="train_loader"):
        Trainer(model, nn.CrossEntropyLoss(), opt)
    with pytest.raises(ValueError, match="log_format"):
        Trainer(model, nn.CrossEntropyLoss(), opt, train_loader=[], log_format="xml")


def test_warmup_cosine_schedule_shape():
    model = nn.Linear(2, 2)
    cfg = {"optimizer": "sgd", "lr": 0.1, "epochs": 2, "warmup_epochs": 0.5, "weight_decay": 0}
    opt = recipes.build_optimizer(cfg, model)
    sched = recipes.build_scheduler(cfg, opt, steps_per_epoch=10)
    lrs = []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.005) and max(lrs) == pytest.approx(0.1)
    assert int(np.argmax(lrs)) == 5 and lrs[-1] < 0.002


def test_smoke_one_epoch_on_2000_fashion_mnist_images_beats_70_percent():
    try:
        train, test = data.FashionMNIST(train=True), data.FashionMNIST(train=False)
    except data.DatasetError as e:
        pytest.skip(f"Fashion-MNIST is not installed: {e}")
    cnnlab.manual_seed(0)
    norm = data.transforms.Normalize(0.2860, 0.3530)
    train.transform = test.transform = norm
    model = models.create("lenet5")
    opt = optim.Adam(model.parameters(), lr=2e-3)
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        opt,
        None,
        data.DataLoader(data.Subset(train, np.arange(2000)), 16, shuffle=True, seed=0),
        data.DataLoader(data.Subset(test, np.arange(1000)), 500),
        epochs=1,
        progress=False,
    )
    history = trainer.fit()
    assert history[0]["val_acc"] > 0.70
    assert math.isfinite(history[0]["loss"])
    # no wall-time assertion here: timings belong in benchmarks/ (train_step.py)


def test_plateau_scheduler_with_step_interval_is_refused_clearly(tmp_path):
    """Regression: scheduler_interval='step' used to call ReduceLROnPlateau.step() with no
    metric and fail with a TypeError in the middle of the first epoch."""
    model = nn.Linear(2, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt)
    loader = data.DataLoader(data.Digits(train=False), 64)
    with pytest.raises(ValueError, match="ReduceLROnPlateau steps on the evaluation metric"):
        Trainer(model, nn.CrossEntropyLoss(), opt, plateau, loader, scheduler_interval="step")


def test_plateau_scheduler_steps_once_per_epoch_on_the_validation_loss(tmp_path, monkeypatch):
    trainer = digits_run(None, epochs=2)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(trainer.optimizer, patience=0)
    seen = []
    monkeypatch.setattr(plateau, "step", lambda metric: seen.append(metric))
    trainer.scheduler = plateau
    history = trainer.fit()
    assert seen == [r["val_loss"] for r in history]


class _Recorder:
    """A callback that records what the Trainer hands it."""

    def __init__(self):
        self.started, self.steps = [], []

    def on_fit_start(self, trainer):
        self.started.append(trainer.step)

    def on_step(self, trainer, batch):
        grads = [p.grad is not None for p in trainer.model.parameters()]
        self.steps.append((trainer.step, batch["loss"], batch["acc"], batch["n"], all(grads)))


def test_callbacks_see_every_step_with_its_batch_and_gradients(tmp_path):
    rec = _Recorder()
    trainer = digits_run(tmp_path, epochs=2, callbacks=[rec])
    trainer.fit()
    n = 2 * len(trainer.train_loader)
    assert rec.started == [0]
    assert [s[0] for s in rec.steps] == list(range(1, n + 1))
    assert all(math.isfinite(s[1]) and 0.0 <= s[2] <= 1.0 for s in rec.steps)
    one_epoch = rec.steps[: len(trainer.train_loader)]
    assert sum(s[3] for s in one_epoch) == len(trainer.train_loader.dataset)
    assert all(s[4] for s in rec.steps)  # the gradients are still in the parameters
    # the batch losses average to the epoch's logged training loss
    first = rec.steps[: len(trainer.train_loader)]
    mean = sum(s[1] * s[3] for s in first) / sum(s[3] for s in first)
    assert mean == pytest.approx(trainer.history[0]["loss"], rel=1e-6)


def test_callbacks_fit_start_is_not_called_again_on_resume(tmp_path):
    digits_run(tmp_path, epochs=1).fit()
    rec = _Recorder()
    trainer = digits_run(tmp_path, epochs=2, callbacks=[rec])
    trainer.resume(tmp_path)
    trainer.fit()
    assert rec.started == [] and rec.steps[0][0] == len(trainer.train_loader) + 1

"""Trainer callbacks that measure what the experiments plot, and the init-time statistics.

Each callback writes into the sub-run's own directory (``trainer.out_dir``): evaluation
rows go to ``metrics.csv`` (``kind = eval``), per-layer numbers to their own CSV.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

import cnnlab
from cnnlab import backend, nn
from cnnlab import data as cdata
from cnnlab.autograd import no_grad
from cnnlab.train.evaluation import evaluate

__all__ = [
    "EvalEvery",
    "first_images",
    "GradNorms",
    "UnitPercentiles",
    "layer_statistics",
    "read_csv",
]


def read_csv(path) -> list[dict]:
    """Rows of a CSV file with numbers as floats (empty cells as None)."""

    def value(v: str):
        if v == "":
            return None
        try:
            return float(v)
        except ValueError:
            return v

    with open(path, newline="") as f:
        return [{k: value(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _append(path: Path, row: dict) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def _first(ds, n: int):
    return cdata.Subset(ds, np.arange(min(int(n), len(ds))))


def first_images(ds, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` samples of ``ds`` (with its transform) as ``(x, y)`` arrays."""
    idx = np.arange(min(int(n), len(ds)))
    batch = ds.get_batch(idx) if hasattr(ds, "get_batch") else None
    if batch is None:
        samples = [ds[int(i)] for i in idx]
        batch = np.stack([s[0] for s in samples]), np.array([s[1] for s in samples])
    x, y = batch
    return np.asarray(x, np.float32), np.asarray(y, np.int64)


def _total_steps(trainer) -> int:
    return trainer.epochs * len(trainer.train_loader)


class EvalEvery:
    """Every ``every`` steps (and before the first and after the last) evaluate the model in
    eval mode on the first ``train_images`` training and ``test_images`` test images; a
    ``kind = eval`` row in ``metrics.csv`` with ``loss``/``acc`` of the training images and
    ``val_loss``/``val_acc`` of the test images."""

    def __init__(self, every: int, train_images: int = 1000, test_images: int = 1000) -> None:
        self.every, self.n_train, self.n_test = int(every), train_images, test_images

    def on_fit_start(self, trainer) -> None:
        self._log(trainer)

    def on_step(self, trainer, batch: dict) -> None:
        if trainer.step % self.every == 0 or trainer.step == _total_steps(trainer):
            self._log(trainer)

    def _loaders(self, trainer):
        if not hasattr(self, "_train"):
            train_ds = trainer.train_loader.dataset
            test_ds = trainer.val_loader.dataset
            self._train = cdata.DataLoader(
                _first(train_ds, self.n_train), 500, shuffle=False, seed=0
            )
            self._test = cdata.DataLoader(_first(test_ds, self.n_test), 500, shuffle=False, seed=0)
        return self._train, self._test

    def _log(self, trainer) -> None:
        train, test = self._loaders(trainer)
        tr = evaluate(trainer.model, train, trainer.loss_fn)
        te = evaluate(trainer.model, test, trainer.loss_fn)
        trainer.log.write(
            {
                "kind": "eval",
                "epoch": trainer.epoch,
                "step": trainer.step,
                "lr": float(trainer.optimizer.param_groups[0]["lr"]),
                "loss": tr["loss"],
                "acc": tr["acc"],
                "val_loss": te["loss"],
                "val_acc": te["acc"],
            }
        )


class UnitPercentiles:
    """The 15th, 50th and 85th percentiles of one unit's input to the last activation
    (Ioffe & Szegedy 2015, fig. 1b-c) over ``images`` fixed test images, every ``every``
    steps, to ``percentiles.csv``. The model must be an ``nn.Sequential``; in eval mode, so
    a batch-norm layer before the activation uses its running statistics."""

    def __init__(self, every: int, unit: int = 0, images: int = 1000) -> None:
        self.every, self.unit, self.images = int(every), int(unit), images

    def on_fit_start(self, trainer) -> None:
        self._probe(trainer)

    def on_step(self, trainer, batch: dict) -> None:
        if trainer.step % self.every == 0 or trainer.step == _total_steps(trainer):
            self._probe(trainer)

    def _probe(self, trainer) -> None:
        layers = list(trainer.model)
        acts = tuple(type(a) for a in (nn.Sigmoid(), nn.Tanh(), nn.ReLU(), nn.LeakyReLU()))
        last = max(i for i, m in enumerate(layers) if isinstance(m, acts))
        x, _ = first_images(trainer.val_loader.dataset, self.images)
        was = trainer.model.training
        trainer.model.eval()
        try:
            with no_grad():
                h = nn.Sequential(*layers[:last])(cnnlab.tensor(x))
        finally:
            trainer.model.train(was)
        u = backend.to_numpy(h.array)[:, self.unit]
        p15, p50, p85 = np.percentile(u, [15, 50, 85])
        row = {"step": trainer.step, "p15": p15, "p50": p50, "p85": p85}
        _append(Path(trainer.out_dir) / "percentiles.csv", row)


class GradNorms:
    """The L2 norm of each weight gradient (Linear and Conv2d layers, input to output) at
    the steps in ``steps`` (1: the first step, from the initial weights), to
    ``grad_norms.csv``."""

    def __init__(self, steps) -> None:
        self.steps = {int(s) for s in steps}

    def on_step(self, trainer, batch: dict) -> None:
        last = _total_steps(trainer)
        if trainer.step not in self.steps and not (-1 in self.steps and trainer.step == last):
            return
        layers = [m for m in trainer.model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
        row = {"step": trainer.step}
        for i, m in enumerate(layers):
            g = m.weight.grad
            row[f"layer{i + 1}"] = (
                float(np.linalg.norm(backend.to_numpy(g.array if hasattr(g, "array") else g)))
                if g is not None
                else float("nan")
            )
        _append(Path(trainer.out_dir) / "grad_norms.csv", row)


def layer_statistics(model: nn.Module, x: np.ndarray, y: np.ndarray) -> dict:
    """Standard deviation of every Linear/Conv2d layer's output and of the loss gradient
    with respect to it, for one forward and backward pass of cross-entropy on ``(x, y)``.

    Returns ``{'act_std': [...], 'grad_std': [...], 'input_std': float}``, layers in order
    from the input; non-finite values (overflow) stay as inf/nan.
    """
    outputs = []

    def keep(module, inputs, output):
        output.retain_grad()
        outputs.append(output)

    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    handles = [m.register_forward_hook(keep) for m in layers]
    try:
        model.train()
        with np.errstate(all="ignore"):
            logits = model(cnnlab.tensor(x))
            loss = nn.CrossEntropyLoss()(logits, cnnlab.tensor(y))
            model.zero_grad()
            loss.backward()
            act = [float(np.std(backend.to_numpy(o.array).astype(np.float64))) for o in outputs]
            grad = [
                float(
                    np.std(backend.to_numpy(o.grad.array if hasattr(o.grad, "array") else o.grad))
                )
                if o.grad is not None
                else float("nan")
                for o in outputs
            ]
    finally:
        for h in handles:
            h.remove()
    return {"input_std": float(np.std(x)), "act_std": act, "grad_std": grad}

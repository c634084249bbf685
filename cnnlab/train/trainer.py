"""Trainer: the epoch loop with progress bar, metric logs, curves, checkpoints and resume.

``Trainer(model, loss_fn, optimizer, scheduler, train_loader=..., epochs=...).fit()`` trains,
evaluates on ``val_loader`` after each epoch, appends a row per epoch (and every
``log_every`` steps) to ``out_dir/metrics.csv`` (or ``.jsonl``), redraws
``out_dir/curves.png``, and saves ``out_dir/last.safetensors`` after every epoch and
``out_dir/best.safetensors`` when the monitored validation score (``Trainer.monitor``: the
accuracy, or a subclass's own metric such as a segmenter's mean IoU) improves. A non-finite
loss stops training with :class:`TrainingDiverged`; the checkpoints on disk stay those of the
last good epoch. ``resume(path)`` restores everything, so the run continues exactly where
it stopped.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from tqdm.auto import tqdm

from cnnlab import backend
from cnnlab.train import checkpoint as ckpt_io
from cnnlab.train.evaluation import evaluate
from cnnlab.train.metrics import RunningAverage
from cnnlab.train.metrics_log import LOG_FIELDS, MetricsLog

# evaluate, LOG_FIELDS and MetricsLog lived here until they got modules of their own; they
# stay importable from cnnlab.train.trainer
__all__ = ["Trainer", "TrainingDiverged", "evaluate"]


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


def _lr(optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


class Trainer:
    """Train ``model`` with ``loss_fn(logits, targets)`` and ``optimizer`` for ``epochs``.

    Args:
        scheduler: an lr scheduler, stepped once per epoch (``scheduler_interval='epoch'``)
            or once per optimiser step (``'step'``); ``ReduceLROnPlateau`` steps once per
            epoch on the validation loss (training loss without ``val_loader``), and with
            ``scheduler_interval='step'`` it is refused with a ValueError.
        out_dir: where logs, curves and checkpoints go (None: write nothing).
        log_format: ``'csv'`` or ``'jsonl'``.
        progress: show a tqdm bar and a summary line per epoch.
        seed: if given, ``cnnlab.manual_seed(seed)`` now (dropout, augmentation draws).
        config: the run's settings, stored in every checkpoint (``model_from_checkpoint``
            rebuilds the model from its ``model``, ``num_classes``, ``in_channels``,
            ``model_options`` entries).
        log_every: also log a ``step`` row every this many steps (0: epoch rows only).
        grad_clip: clip the gradients' global norm to this value before each step.
        callbacks: objects with optional ``on_fit_start(trainer)`` (before the first step
            of a fresh run) and ``on_step(trainer, batch)`` methods; ``batch`` holds this
            step's ``loss``, ``acc`` and ``n`` (the gradients are still in the parameters).
            Probes such as per-layer statistics or evaluation every N steps live there.

    ``monitor`` (a class attribute) names the key of :meth:`evaluate`'s result that picks
    ``best.safetensors``; higher is better. It is ``'acc'`` here; a subclass whose
    ``evaluate`` adds its own score (the segmenters' ``'miou'``) names that one, and the
    metrics log gains its ``val_<monitor>`` column.
    """

    monitor = "acc"

    def __init__(
        self,
        model,
        loss_fn,
        optimizer,
        scheduler=None,
        train_loader=None,
        val_loader=None,
        epochs: int = 10,
        out_dir=None,
        log_format: str = "csv",
        progress: bool = True,
        seed: int | None = None,
        *,
        scheduler_interval: str = "epoch",
        config: dict | None = None,
        log_every: int = 100,
        grad_clip: float | None = None,
        val_name: str = "val",
        callbacks: list | None = None,
    ) -> None:
        if train_loader is None:
            raise ValueError("Trainer: train_loader is required")
        if scheduler_interval not in ("epoch", "step"):
            raise ValueError(
                f"Trainer: scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}"
            )
        from cnnlab.optim.lr_scheduler import ReduceLROnPlateau

        if isinstance(scheduler, ReduceLROnPlateau) and scheduler_interval != "epoch":
            raise ValueError(
                "Trainer: ReduceLROnPlateau steps on the evaluation metric, once per epoch; "
                f"use scheduler_interval='epoch' (got {scheduler_interval!r})"
            )
        if seed is not None:
            backend.manual_seed(seed)
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.scheduler, self.scheduler_interval = scheduler, scheduler_interval
        self.train_loader, self.val_loader = train_loader, val_loader
        self.epochs = int(epochs)
        self.out_dir = None if out_dir is None else Path(out_dir)
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        extra = [] if self.monitor in ("acc", "loss") else [f"val_{self.monitor}"]
        self.log = MetricsLog(self.out_dir, log_format, [*LOG_FIELDS, *extra])
        self.progress = progress
        self.config = dict(config or {})
        self.log_every = int(log_every)
        self.grad_clip = grad_clip
        self.val_name = val_name  # what the per-epoch evaluation split is called in logs
        self.callbacks = list(callbacks or [])
        self.epoch = 0  # epochs finished
        self.step = 0  # optimiser steps taken
        self.history: list[dict] = []
        self.best_score = -math.inf  # best value of the monitored score so far

    @property
    def best_acc(self) -> float:
        """The best monitored score (its historical name: accuracy is the default monitor)."""
        return self.best_score

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_path(self, name: str) -> Path | None:
        return None if self.out_dir is None else self.out_dir / f"{name}.safetensors"

    def save(self, name: str = "last") -> Path | None:
        path = self.checkpoint_path(name)
        if path is None:
            return None
        metrics = {
            "history": self.history,
            "best_score": self.best_score,
            "monitor": self.monitor,
            "step": self.step,
        }
        if self.monitor == "acc":  # the key that runs before the monitor was named used
            metrics["best_acc"] = self.best_score
        return ckpt_io.save_checkpoint(
            path,
            model=self.model,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            epoch=self.epoch,
            loader=self.train_loader,
            config=self.config,
            metrics=metrics,
        )

    def resume(self, path) -> int:
        """Restore a checkpoint (file, or run directory holding ``last.safetensors``)."""
        ckpt = ckpt_io.load_checkpoint(path)
        self.epoch = ckpt_io.restore(
            ckpt, self.model, self.optimizer, self.scheduler, self.train_loader
        )
        self.history = list(ckpt.metrics.get("history", []))
        best = ckpt.metrics.get("best_score", ckpt.metrics.get("best_acc", -math.inf))
        self.best_score = float(best)
        self.step = int(ckpt.metrics.get("step", 0))
        self.log.trim(self.step)  # rows of the lost progress after the checkpoint
        return self.epoch

    # ------------------------------------------------------------------ loops
    def _call(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            fn = getattr(cb, hook, None)
            if fn is not None:
                fn(self, *args)

    def _say(self, msg: str) -> None:
        if self.progress:
            tqdm.write(msg, file=sys.stderr)

    def _diverged(self, value: float, epoch: int, step: int) -> TrainingDiverged:
        last = self.checkpoint_path("last")
        kept = (
            f"the last good checkpoint is {last}"
            if last is not None and last.exists()
            else "no checkpoint was saved yet"
        )
        return TrainingDiverged(
            f"training diverged: loss is {value} at epoch {epoch + 1}, step {step}; {kept}. "
            "Try a lower learning rate or gradient clipping."
        )

    def after_backward(self) -> None:
        """Called between ``backward()`` and gradient clipping and the optimiser step: a hook
        (distributed training averages the ranks' gradients here)."""

    def forward_loss(self, x, y):
        """``(outputs, loss)`` of one training batch: ``model(x)`` and ``loss_fn`` of it. A
        hook: a captioner's trainer feeds the model the words too (teacher forcing)."""
        logits = self.model(x)
        return logits, self.loss_fn(logits, y)

    def batch_accuracy(self, logits, y) -> float:
        """The training accuracy of one batch: argmax over dim 1 against the targets (per
        image, or per pixel for a segmenter). A task whose targets are not classes (the
        detector's maps) overrides this."""
        pred = backend.to_numpy(logits.array).argmax(axis=1)
        return float((pred == backend.to_numpy(y.array)).mean())

    def train_epoch(self, epoch: int) -> dict:
        """One pass over ``train_loader``; returns ``{'loss', 'acc', 'img_per_s', 'time_s'}``."""
        from cnnlab.optim import clip_grad_norm_

        self.model.train()
        loss_avg, acc_avg = RunningAverage(), RunningAverage()
        start, seen = time.perf_counter(), 0
        bar = tqdm(
            total=len(self.train_loader),
            desc=f"epoch {epoch + 1}/{self.epochs}",
            disable=not self.progress,
            leave=False,
            dynamic_ncols=True,
            file=sys.stderr,
        )
        # a resumed loader may start mid-epoch; its length still counts the whole epoch
        for i, (x, y) in enumerate(self.train_loader):
            logits, loss = self.forward_loss(x, y)
            value = float(loss.item())
            if not math.isfinite(value):
                bar.close()
                raise self._diverged(value, epoch, i)
            self.optimizer.zero_grad()
            loss.backward()
            self.after_backward()
            if self.grad_clip:
                clip_grad_norm_(self.model.parameters(), self.grad_clip)
            self.optimizer.step()
            self.step += 1
            if self.scheduler is not None and self.scheduler_interval == "step":
                self.scheduler.step()
            n = len(y)
            seen += n
            batch_acc = self.batch_accuracy(logits, y)
            loss_avg.update(value, n)
            acc_avg.update(batch_acc, n)
            self._call("on_step", {"loss": value, "acc": batch_acc, "n": n})
            rate = seen / max(time.perf_counter() - start, 1e-9)
            bar.update(1)
            if i % 10 == 0:
                bar.set_postfix(
                    loss=f"{loss_avg.avg:.4f}", acc=f"{acc_avg.avg:.3f}", img_s=f"{rate:.0f}"
                )
            if self.log_every and self.step % self.log_every == 0:
                self.log.write(
                    {
                        "kind": "step",
                        "epoch": epoch + 1,
                        "step": self.step,
                        "lr": _lr(self.optimizer),
                        "loss": loss_avg.avg,
                        "acc": acc_avg.avg,
                        "img_per_s": rate,
                    }
                )
        bar.close()
        elapsed = time.perf_counter() - start
        return {
            "loss": loss_avg.avg,
            "acc": acc_avg.avg,
            "img_per_s": seen / max(elapsed, 1e-9),
            "time_s": elapsed,
        }

    def evaluate(self, loader, return_outputs: bool = False, desc: str = "eval") -> dict:
        """Mean loss and accuracy over ``loader`` (see :func:`evaluate`)."""
        return evaluate(self.model, loader, self.loss_fn, return_outputs, self.progress, desc)

    def fit(self) -> list[dict]:
        """Train from ``self.epoch`` to ``epochs``; returns the per-epoch history."""
        from cnnlab.optim.lr_scheduler import ReduceLROnPlateau
        from cnnlab.train.plots import plot_history

        run_start = time.perf_counter()
        if self.step == 0:
            self._call("on_fit_start")
        for epoch in range(self.epoch, self.epochs):
            lr = _lr(self.optimizer)
            train = self.train_epoch(epoch)
            row = {
                "kind": "epoch",
                "epoch": epoch + 1,
                "step": self.step,
                "lr": lr,
                "loss": train["loss"],
                "acc": train["acc"],
                "img_per_s": train["img_per_s"],
                "time_s": train["time_s"],
            }
            if self.val_loader is not None:
                val = self.evaluate(self.val_loader)
                # the loss, the accuracy and the monitored score (an evaluation may return
                # more, such as a detector's per-class AP arrays: not logged per epoch)
                keys = dict.fromkeys(("loss", "acc", self.monitor))
                row.update({f"val_{k}": val[k] for k in keys if k in val})
            if self.scheduler is not None:
                if isinstance(self.scheduler, ReduceLROnPlateau):
                    self.scheduler.step(row.get("val_loss", train["loss"]))
                elif self.scheduler_interval == "epoch":
                    self.scheduler.step()
            self.epoch = epoch + 1
            self.history.append(row)
            self.log.write(row)
            score = row.get(f"val_{self.monitor}", row.get(self.monitor, row["acc"]))
            improved = score > self.best_score
            self.best_score = max(self.best_score, score)
            self.save("last")
            if improved:
                self.save("best")
            if self.out_dir is not None:
                plot_history(self.history, self.out_dir / "curves.png", self.val_name)
            name = self.val_name
            val_msg = "".join(
                f"  {name}_{k[4:]} {v:.4f}" for k, v in row.items() if k.startswith("val_")
            )
            self._say(
                f"epoch {epoch + 1}/{self.epochs}  loss {train['loss']:.4f}  "
                f"acc {train['acc']:.4f}{val_msg}  lr {lr:.3g}  "
                f"{train['img_per_s']:.0f} img/s  {train['time_s']:.0f}s"
            )
        self.total_time = time.perf_counter() - run_start
        return self.history

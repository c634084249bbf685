"""The trainer of a training run (classification, on one process or many, and the scene
tasks: segment, detect, caption): the recipe's optimiser and per-step schedule around a
:class:`~cnnlab.train.trainer.Trainer` (sub)class, resumed from a run when asked. Each run
builds its own loaders, model and loss; this is the part they share.
"""

from __future__ import annotations

from cnnlab.train import recipes
from cnnlab.train.trainer import Trainer

__all__ = ["build_task_trainer"]


def build_task_trainer(
    trainer_cls: type[Trainer],
    model,
    loss_fn,
    cfg: dict,
    train_loader,
    eval_loader,
    out_dir,
    *,
    val_name: str = "test",
    progress: bool = True,
    resume=None,
    callbacks: list | None = None,
    **options,
) -> Trainer:
    """A ``trainer_cls`` for a run, ready to ``fit()``.

    The optimiser (``recipes.build_optimizer``) and a schedule stepped once per optimiser
    step (``recipes.build_scheduler``) come from ``cfg``, whose ``'lr'`` is set to the rate
    the optimiser took, so the checkpoints record it. The trainer runs ``cfg['epochs']``
    epochs, clips gradients at ``cfg.get('grad_clip')`` and stores ``cfg`` in every
    checkpoint; with ``resume`` it restores that run's state before returning.

    Args:
        trainer_cls: the :class:`~cnnlab.train.trainer.Trainer` (sub)class to build.
        model: the model to train.
        loss_fn: ``loss_fn(outputs, targets)``.
        cfg: the run's settings (updated in place with ``'lr'``).
        train_loader: the training batches.
        eval_loader: the batches of the per-epoch evaluation.
        out_dir: where logs, curves and checkpoints go (None: nowhere, a distributed run's
            other ranks).
        val_name: what the per-epoch evaluation split is called in the logs.
        progress: show progress bars and a line per epoch.
        resume: a run directory or checkpoint to continue from, or None.
        callbacks: the trainer's callbacks (see :class:`~cnnlab.train.trainer.Trainer`).
        **options: further keyword arguments of ``trainer_cls`` (a captioner's ``vocab``).

    Returns:
        The trainer, resumed if ``resume`` was given.
    """
    optimizer = recipes.build_optimizer(cfg, model)
    cfg["lr"] = optimizer.param_groups[0]["lr"]
    scheduler = recipes.build_scheduler(cfg, optimizer, len(train_loader))
    trainer = trainer_cls(
        model,
        loss_fn,
        optimizer,
        scheduler,
        train_loader,
        eval_loader,
        epochs=int(cfg["epochs"]),
        out_dir=out_dir,
        progress=progress,
        scheduler_interval="step",
        config=cfg,
        val_name=val_name,
        grad_clip=cfg.get("grad_clip"),
        callbacks=callbacks,
        **options,
    )
    if resume is not None:
        trainer.resume(resume)
    return trainer

"""Fine-tuning on a labelled set held in memory: a short SGD loop with per-part learning
rates (``nn.utils.param_groups``) and a cosine schedule, and accuracy on arrays.

``cnnlab train --pretrained --freeze ...`` is the full-featured way (checkpoints, logs);
this loop is what the transfer experiment runs for its many small labelled subsets.
"""

from __future__ import annotations

import math
import time

import numpy as np

__all__ = ["accuracy", "fit"]


def _forward(model, x, call):
    import cnnlab

    return call(cnnlab.tensor(x)) if call is not None else model(cnnlab.tensor(x))


def fit(
    model,
    images: np.ndarray,
    labels: np.ndarray,
    epochs: int = 10,
    min_steps: int = 0,
    max_steps: int | None = None,
    batch_size: int = 32,
    lr: float = 0.01,
    lr_body: float | None = None,
    weight_decay: float = 5e-4,
    momentum: float = 0.9,
    bn_eval: bool = False,
    seed: int = 0,
    call=None,
) -> dict:
    """Train ``model`` on ``(images, labels)`` with cross-entropy: SGD (Nesterov momentum),
    the head at ``lr`` and the rest at ``lr_body`` (frozen parameters skipped), cosine
    decay over the run. The run is ``epochs`` passes, at least ``min_steps`` and at most
    ``max_steps`` steps. ``bn_eval`` keeps every batch norm in eval mode (the pretrained
    statistics: advisable when a batch holds a handful of images). ``call(x)`` replaces
    ``model(x)`` (e.g. ``model.forward_from``). Returns ``{'steps', 'loss', 'wall_s'}``.

    Shape:
        - images: (N, ...) inputs of ``model``; labels: (N,)
    """
    import cnnlab
    from cnnlab import nn, optim
    from cnnlab.nn.freeze import param_groups
    from cnnlab.optim import lr_scheduler

    x = np.asarray(images, np.float32)
    y = np.asarray(labels, np.int64)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"fit: {len(x)} images and {len(y)} labels (need as many, at least 1)")
    bs = min(int(batch_size), len(x))
    per_epoch = math.ceil(len(x) / bs)
    steps = max(int(epochs) * per_epoch, int(min_steps))
    steps = min(steps, int(max_steps)) if max_steps else steps
    opt = optim.SGD(
        param_groups(model, lr, lr_body, weight_decay), lr=lr, momentum=momentum, nesterov=True
    )
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    cnnlab.manual_seed(seed)
    model.train()
    if bn_eval:
        for m in model.modules():
            if "BatchNorm" in type(m).__name__:
                m.__dict__["training"] = False
    start, done, loss = time.perf_counter(), 0, float("nan")
    while done < steps:
        order = rng.permutation(len(x))
        for s in range(0, len(order) - bs + 1 if len(order) >= bs else 1, bs):
            idx = order[s : s + bs]
            out = _forward(model, x[idx], call)
            batch_loss = loss_fn(out, cnnlab.tensor(y[idx]))
            opt.zero_grad()
            batch_loss.backward()
            opt.step()
            sched.step()
            loss, done = float(batch_loss.array), done + 1
            if done >= steps:
                break
    model.eval()
    return {"steps": done, "loss": loss, "wall_s": round(time.perf_counter() - start, 1)}


def accuracy(model, images: np.ndarray, labels: np.ndarray, batch_size: int = 256, call=None):
    """Top-1 accuracy of ``model`` (eval mode, no gradients) on arrays.

    Shape:
        - images: (N, ...); labels: (N,)
    """
    import cnnlab
    from cnnlab import backend

    model.eval()
    right = 0
    with cnnlab.no_grad():
        for s in range(0, len(images), batch_size):
            out = _forward(model, np.asarray(images[s : s + batch_size], np.float32), call)
            pred = backend.to_numpy(out.array).argmax(axis=1)
            right += int((pred == np.asarray(labels[s : s + batch_size])).sum())
    return right / max(1, len(images))

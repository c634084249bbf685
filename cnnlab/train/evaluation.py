"""Evaluation of a classifier: mean loss and accuracy over a loader, in eval mode and without
a graph (the model's training flag restored afterwards)."""

from __future__ import annotations

import sys

import numpy as np
from tqdm.auto import tqdm

from cnnlab import backend
from cnnlab.autograd import no_grad
from cnnlab.train.metrics import RunningAverage

__all__ = ["evaluate"]


def evaluate(
    model,
    loader,
    loss_fn=None,
    return_outputs: bool = False,
    progress: bool = False,
    desc: str = "eval",
) -> dict:
    """Mean loss (if ``loss_fn``) and accuracy of ``model`` over ``loader``, in eval mode and
    without a graph; the model's training flag is restored afterwards. For a segmenter
    (logits (N, C, H, W), targets (N, H, W)) the accuracy is per pixel.

    Returns ``{'loss', 'acc', 'n'}``, plus ``logits`` (N, C) and ``targets`` (N,) NumPy
    arrays with ``return_outputs``.
    """
    was_training = model.training
    model.eval()
    loss_avg, correct, n, labels = RunningAverage(), 0, 0, 0
    outs, targets = [], []
    try:
        with no_grad():
            for x, y in tqdm(
                loader,
                desc=desc,
                disable=not progress,
                leave=False,
                dynamic_ncols=True,
                file=sys.stderr,
            ):
                logits = model(x)
                if loss_fn is not None:
                    loss_avg.update(float(loss_fn(logits, y).item()), len(y))
                out, t = backend.to_numpy(logits.array), backend.to_numpy(y.array)
                correct += int((out.argmax(axis=1) == t).sum())
                n += len(t)
                labels += t.size  # one per image, or per pixel for a segmenter's (N, H, W)
                if return_outputs:
                    outs.append(out)
                    targets.append(t)
    finally:
        model.train(was_training)
    result = {"loss": loss_avg.avg, "acc": correct / labels if labels else float("nan"), "n": n}
    if return_outputs:
        result["logits"] = np.concatenate(outs) if outs else np.zeros((0, 0), np.float32)
        result["targets"] = np.concatenate(targets) if targets else np.zeros(0, np.int64)
    return result

"""The linear probe: multinomial logistic regression on fixed features, trained by cnnlab's
own optimiser (a ``Linear`` layer, cross-entropy, Adam with an L2 penalty on the weights).

It minimises scikit-learn's ``LogisticRegression(C=C)`` objective, written per example::

    mean_i CE(W f_i + b, y_i) + ||W||^2 / (2 C N)

(scikit-learn sums the cross-entropy and adds ``||W||^2 / 2``; dividing by ``C N`` gives the
same minimiser), on features standardised by the training set's mean and std
(``normalize="standard"``, scikit-learn's ``StandardScaler``), scaled to unit length
(``"l2"``: better with a handful of labelled images, whose std is no estimate) or as given.
The penalty is Adam's ``weight_decay = 1 / (C N)`` on the weight's parameter group (the
bias is not penalised, as in scikit-learn).
"""

from __future__ import annotations

import numpy as np

__all__ = ["linear_probe"]


def linear_probe(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    test_features: np.ndarray | None = None,
    test_labels: np.ndarray | None = None,
    C: float = 1.0,
    steps: int = 300,
    lr: float = 0.05,
    batch_size: int = 8192,
    normalize: str | None = "standard",
    num_classes: int | None = None,
    seed: int = 0,
) -> dict:
    """Fit a multinomial logistic regression on ``train_features`` and score it.

    Full-batch Adam when there are at most ``batch_size`` training examples, else random
    minibatches of that size; the learning rate decays linearly to 0 over ``steps``.

    Returns ``{'acc', 'train_acc', 'loss', 'weight', 'bias', 'mean', 'std', 'normalize',
    'steps'}`` (``acc`` None without test data): predict with
    ``((f - mean) / std) @ weight.T + bias`` (``f`` first scaled to unit length for "l2").

    Shape:
        - train_features: (N, D); train_labels: (N,); test_features: (M, D)
        - weight: (K, D); bias: (K,)
    """
    import cnnlab
    from cnnlab import nn, optim
    from cnnlab.optim import lr_scheduler

    x = np.asarray(train_features, dtype=np.float32)
    y = np.asarray(train_labels, dtype=np.int64)
    if x.ndim != 2 or len(x) != len(y) or len(x) == 0:
        raise ValueError(
            f"linear_probe: train_features must be (N, D) with N = len(train_labels) > 0, "
            f"got {x.shape} and {y.shape}"
        )
    if C <= 0 or steps < 1:
        raise ValueError(f"linear_probe: C must be > 0 and steps >= 1, got C={C}, steps={steps}")
    if normalize not in ("standard", "l2", None):
        raise ValueError(
            f"linear_probe: normalize must be 'standard', 'l2' or None, got {normalize!r}"
        )
    k = int(num_classes) if num_classes is not None else int(y.max()) + 1
    unit = normalize == "l2"
    mean = x.mean(axis=0) if normalize == "standard" else np.zeros(x.shape[1], np.float32)
    std = x.std(axis=0) + 1e-6 if normalize == "standard" else np.ones(x.shape[1], np.float32)

    def prepare(f):
        f = np.asarray(f, np.float32)
        if unit:
            f = f / (np.linalg.norm(f, axis=1, keepdims=True) + 1e-12)
        return (f - mean) / std

    xs = prepare(x)
    cnnlab.manual_seed(seed)
    head = nn.Linear(x.shape[1], k)
    head.weight.array[...] = 0.0  # the objective is convex: start at the origin, as lbfgs
    head.bias.array[...] = 0.0
    opt = optim.Adam(
        [
            {"params": [head.weight], "weight_decay": 1.0 / (C * len(x))},
            {"params": [head.bias], "weight_decay": 0.0},
        ],
        lr=lr,
    )
    sched = lr_scheduler.LambdaLR(opt, lambda t: max(0.0, 1.0 - t / steps))
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    full = len(x) <= batch_size
    loss = float("nan")
    for _ in range(int(steps)):
        idx = slice(None) if full else rng.choice(len(x), batch_size, replace=False)
        out = head(cnnlab.tensor(xs[idx]))
        batch_loss = loss_fn(out, cnnlab.tensor(y[idx]))
        opt.zero_grad()
        batch_loss.backward()
        opt.step()
        sched.step()
        loss = float(batch_loss.array)
    w, b = np.array(head.weight.array), np.array(head.bias.array)

    def accuracy(f, labels):
        pred = (prepare(f) @ w.T + b).argmax(axis=1)
        return float((pred == np.asarray(labels)).mean())

    result = {
        "train_acc": accuracy(x, y),
        "acc": None,
        "loss": loss,
        "weight": w,
        "bias": b,
        "mean": mean,
        "std": std,
        "normalize": normalize,
        "steps": int(steps),
    }
    if test_features is not None and test_labels is not None:
        result["acc"] = accuracy(test_features, test_labels)
    return result

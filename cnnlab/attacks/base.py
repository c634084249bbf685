"""What every attack shares: the result record, eval-mode model calls, input gradients and
the bounds every perturbed input must respect.

Attacks work on raw arrays ``(N, C, H, W)`` in the model's own input space (the model holds
its normalisation), so ``eps`` is measured on the images the user gives.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

import cnnlab
import cnnlab.nn.functional as F
from cnnlab.backend import get_array_module, to_numpy

__all__ = [
    "AttackResult",
    "as_labels",
    "check_bounds",
    "eval_mode",
    "input_gradient",
    "make_result",
    "predict_proba",
]


@contextmanager
def eval_mode(model):
    """Run ``model`` in eval mode inside the block and restore its previous mode after."""
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        yield model
    finally:
        if was_training:
            model.train()


def check_bounds(x, bounds: tuple[float, float], name: str) -> tuple[float, float]:
    """Validate ``bounds`` and that ``x`` lies inside them; return them as floats."""
    lo, hi = float(bounds[0]), float(bounds[1])
    if not lo < hi:
        raise ValueError(f"{name}: bounds must satisfy low < high, got {bounds}")
    xp = get_array_module(x)
    if x.ndim != 4:
        raise ValueError(f"{name}: expected images of shape (N, C, H, W), got {tuple(x.shape)}")
    if float(xp.min(x)) < lo - 1e-6 or float(xp.max(x)) > hi + 1e-6:
        raise ValueError(
            f"{name}: inputs must lie in bounds [{lo}, {hi}], "
            f"got values in [{float(xp.min(x))}, {float(xp.max(x))}]"
        )
    return lo, hi


def predict_proba(model, x, batch_size: int = 256):
    """Softmax probabilities of ``model`` on ``x`` (no graph), in batches.

    Shape: x ``(N, C, H, W)`` -> ``(N, num_classes)``.
    """
    xp = get_array_module(x)
    out = []
    with cnnlab.no_grad():
        for i in range(0, x.shape[0], batch_size):
            logits = model(cnnlab.Tensor(x[i : i + batch_size]))
            out.append(F.softmax(logits, dim=1).array)
    return xp.concatenate(out, axis=0)


def input_gradient(model, x, labels, targeted: bool = False):
    """Per-sample loss and its gradient with respect to the input, the direction that
    *helps the attack*: up the loss of ``labels`` when untargeted, down the loss of the
    target classes when targeted.

    Shape: x ``(N, C, H, W)``, labels ``(N,)`` -> (objective ``(N,)``, gradient like x).
    """
    xt = cnnlab.Tensor(x, requires_grad=True)
    logits = model(xt)
    xp = get_array_module(x)
    ce = F.cross_entropy(logits, cnnlab.Tensor(xp.asarray(labels)), reduction="none")
    objective = -ce if targeted else ce
    (g,) = cnnlab.grad(objective.sum(), [xt])
    g = None if g is None else g.array  # the raw array
    return objective.array, g


def _norms(delta) -> tuple[np.ndarray, np.ndarray]:
    flat = to_numpy(delta).reshape(delta.shape[0], -1).astype(np.float64)
    return np.sqrt((flat**2).sum(1)), np.abs(flat).max(1, initial=0.0)


@dataclass
class AttackResult:
    """The outcome of an attack on a batch, measured honestly.

    ``success[i]`` is True only when the *final* perturbed input ``x_adv[i]`` is classified as
    the attack wanted: the target class (targeted) or anything but ``labels[i]`` (untargeted).
    ``attempted`` marks the samples that count in :attr:`success_rate`: for untargeted attacks
    those the model classified correctly before the attack (an already-wrong prediction is not
    a success of the attack); for targeted ones those not already predicted as the target.
    """

    method: str
    x: np.ndarray
    x_adv: np.ndarray
    labels: np.ndarray
    clean_pred: np.ndarray
    clean_conf: np.ndarray
    adv_pred: np.ndarray
    adv_conf: np.ndarray
    success: np.ndarray
    attempted: np.ndarray
    l2: np.ndarray
    linf: np.ndarray
    target: np.ndarray | None = None
    params: dict = field(default_factory=dict)

    @property
    def delta(self) -> np.ndarray:
        return self.x_adv - self.x

    @property
    def success_rate(self) -> float:
        """Successes among the attempted samples (NaN when none was attempted)."""
        n = int(self.attempted.sum())
        return float((self.success & self.attempted).sum() / n) if n else float("nan")

    @property
    def clean_accuracy(self) -> float:
        return float((self.clean_pred == self.labels).mean())

    @property
    def adv_accuracy(self) -> float:
        return float((self.adv_pred == self.labels).mean())

    def norm_stats(self) -> dict:
        """Mean and median L2 / L∞ perturbation norms over the *successful* attempts."""
        ok = self.success & self.attempted
        if not ok.any():
            return {k: float("nan") for k in ("mean_l2", "median_l2", "mean_linf", "median_linf")}
        return {
            "mean_l2": float(self.l2[ok].mean()),
            "median_l2": float(np.median(self.l2[ok])),
            "mean_linf": float(self.linf[ok].mean()),
            "median_linf": float(np.median(self.linf[ok])),
        }

    def _picture(self, n: int = 6):
        """Clean, adversarial and difference (amplified) of the first ``n`` samples, one row
        each: what Jupyter draws inline."""
        from cnnlab.display import Picture, side_by_side
        from cnnlab.explain.render import to_hwc

        rows = []
        for i in range(min(n, self.x.shape[0])):
            d = self.x_adv[i] - self.x[i]
            scale = float(np.abs(d).max()) or 1.0
            cells = [self.x[i], self.x_adv[i], 0.5 + 0.5 * d / scale]
            rows.append(side_by_side([np.clip(to_hwc(c), 0, 1) for c in cells], pad=2))
        gap = np.ones((2, rows[0].shape[1], 3), np.float32)
        grid = np.concatenate([r for row in rows for r in (row, gap)][:-1], axis=0)
        return Picture(grid, f"{self.method}: clean | adversarial | difference", min_side=224)

    def _repr_html_(self) -> str:
        from cnnlab.display import html_table

        s = self.summary()
        table = html_table(
            ["", "value"],
            [[k, f"{v:.4g}" if isinstance(v, float) else v] for k, v in s.items()],
            caption=f"{self.method} on {s['n']} images (rows: clean | adversarial | difference)",
        )
        return f'{table}<img src="{self._picture().data_uri()}" alt="{self.method} examples"/>'

    def summary(self) -> dict:
        """Success rate, accuracies and norms in one flat dict (for tables and JSON)."""
        return {
            "method": self.method,
            "n": int(self.x.shape[0]),
            "attempted": int(self.attempted.sum()),
            "success_rate": self.success_rate,
            "clean_accuracy": self.clean_accuracy,
            "adv_accuracy": self.adv_accuracy,
            "mean_adv_confidence": float(self.adv_conf.mean()) if self.adv_conf.size else 0.0,
            **self.norm_stats(),
            **{k: v for k, v in self.params.items() if isinstance(v, int | float | str | bool)},
        }


def make_result(
    method, model, x, x_adv, labels, target=None, params=None, batch_size=256, clean_proba=None
) -> AttackResult:
    """Evaluate ``x_adv`` with ``model`` and build the :class:`AttackResult` (host arrays)."""
    p_clean = predict_proba(model, x, batch_size) if clean_proba is None else clean_proba
    p_adv = predict_proba(model, x_adv, batch_size)
    p_clean, p_adv = to_numpy(p_clean), to_numpy(p_adv)
    labels = to_numpy(labels).astype(np.int64)
    clean_pred, adv_pred = p_clean.argmax(1), p_adv.argmax(1)
    if target is None:
        success = adv_pred != labels
        attempted = clean_pred == labels
    else:
        target = to_numpy(target).astype(np.int64)
        success = adv_pred == target
        attempted = clean_pred != target
    l2, linf = _norms(x_adv - x)
    rows = np.arange(len(labels))
    return AttackResult(
        method=method,
        x=to_numpy(x),
        x_adv=to_numpy(x_adv),
        labels=labels,
        clean_pred=clean_pred,
        clean_conf=p_clean[rows, clean_pred],
        adv_pred=adv_pred,
        adv_conf=p_adv[rows, adv_pred],
        success=success,
        attempted=attempted,
        l2=l2,
        linf=linf,
        target=target,
        params=dict(params or {}),
    )


def as_labels(labels, n: int, name: str):
    """Integer labels of length ``n`` from an int (one class for all) or a sequence."""
    arr = np.full(n, labels, dtype=np.int64) if np.ndim(labels) == 0 else np.asarray(labels)
    arr = to_numpy(arr).astype(np.int64)
    if arr.shape != (n,):
        raise ValueError(f"{name}: expected {n} labels, got shape {arr.shape}")
    return arr

"""Health checks for GAN training: the failures users of GAN tutorials meet, named as they
happen, each with what to try.

- the discriminator wins: its loss near 0, or D(G(z)) near 0, for ``patience`` steps in a row
  (the generator's gradient vanishes and samples stop improving);
- exploding gradients: a gradient norm far above its running median, or non-finite;
- collapse: the diversity of a fixed batch of samples (mean pairwise distance, relative to the
  real images') falls, or the entropy of a classifier's predicted classes over the samples is
  low (all samples one kind);
- NaN losses (the trainer stops and keeps the last good checkpoint).

Each warning is a dict ``{check, epoch, step, message, try}``; a check warns at most once per
epoch so the log stays readable.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

__all__ = ["HealthMonitor", "class_entropy", "mean_pairwise_distance"]

ADVICE = {
    "discriminator_wins": "lower the discriminator's learning rate (or raise the generator's), "
    "use one-sided label smoothing (real targets 0.9), add a little noise to D's inputs, or "
    "make D smaller",
    "exploding_gradients": "lower the learning rates, check that images are scaled to [-1, 1], "
    "or clip gradient norms",
    "collapse": "restart from an earlier checkpoint with a lower learning rate, use a larger "
    "batch, or try the conditional model (--conditional); more epochs rarely undo a collapse",
    "nan": "lower the learning rates, check the data for NaN or Inf values; training was "
    "stopped and the last good checkpoint kept",
}


def mean_pairwise_distance(images: np.ndarray) -> float:
    """Mean Euclidean distance between all pairs of ``images`` (flattened).

    Shape:
        - images: (N, ...) with N >= 2
    """
    x = np.asarray(images, np.float64).reshape(len(images), -1)
    if len(x) < 2:
        raise ValueError(f"mean_pairwise_distance: need at least 2 images, got {len(x)}")
    sq = (x * x).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0)
    n = len(x)
    return float(np.sqrt(d2)[np.triu_indices(n, 1)].mean())


def class_entropy(predicted: np.ndarray, num_classes: int) -> float:
    """Entropy (nats) of the histogram of predicted classes; ``log(num_classes)`` when every
    class is equally frequent, 0 when all predictions are one class."""
    counts = np.bincount(np.asarray(predicted, np.int64), minlength=num_classes)
    p = counts[counts > 0] / counts.sum()
    return float(max(-(p * np.log(p)).sum(), 0.0)) + 0.0  # never -0.0


class HealthMonitor:
    """Watches per-step records and per-epoch sample statistics; collects warnings.

    Args:
        patience: consecutive steps with D loss or D(G(z)) below ``d_win_threshold`` before
            "discriminator wins" fires.
        grad_factor: a gradient norm above ``grad_factor`` x its running median (over the
            last ``window`` steps, after ``window`` steps) fires "exploding gradients".
        diversity_ratio: fixed-batch diversity falling below this fraction of the best seen
            (once it reached that fraction of the real images' diversity), or staying below
            this fraction of the real images' after ``warmup_steps``, fires "collapse" (a
            fresh generator draws nearly one image, so the first steps are not judged;
            counted in steps, not epochs: an epoch of the MNIST subset is only 62 steps).
        entropy_ratio: class entropy below this fraction of ``log(num_classes)`` after
            ``warmup_steps`` fires "collapse".
        log: callable taking a message (default: nothing).
    """

    def __init__(
        self,
        patience: int = 200,
        d_win_threshold: float = 0.05,
        grad_factor: float = 50.0,
        window: int = 100,
        diversity_ratio: float = 0.5,
        entropy_ratio: float = 0.5,
        warmup_steps: int = 1000,
        log=None,
    ) -> None:
        self.warmup_steps = warmup_steps
        self.patience, self.d_win_threshold = patience, d_win_threshold
        self.grad_factor, self.window = grad_factor, window
        self.diversity_ratio, self.entropy_ratio = diversity_ratio, entropy_ratio
        self.log = log
        self.warnings: list[dict] = []
        self._streak = 0
        self._grads = {"grad_norm_D": deque(maxlen=window), "grad_norm_G": deque(maxlen=window)}
        self._best_diversity = 0.0
        self._warned: set = set()

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict:
        return {
            "warnings": list(self.warnings),
            "streak": self._streak,
            "grads": {k: list(v) for k, v in self._grads.items()},
            "best_diversity": self._best_diversity,
            "warned": [list(w) for w in sorted(self._warned)],
        }

    def load_state_dict(self, state: dict) -> None:
        self.warnings = [dict(w) for w in state["warnings"]]
        self._streak = int(state["streak"])
        for k, v in state["grads"].items():
            self._grads[k] = deque((float(g) for g in v), maxlen=self.window)
        self._best_diversity = float(state["best_diversity"])
        self._warned = {(str(c), int(e)) for c, e in state["warned"]}

    # ----------------------------------------------------------------- checks
    def _warn(self, check: str, epoch: int, step: int, message: str, kind: str = "") -> dict | None:
        if (check + kind, epoch) in self._warned:
            return None
        self._warned.add((check + kind, epoch))
        w = {"check": check, "epoch": epoch, "step": step, "message": message}
        w["try"] = ADVICE[check]
        self.warnings.append(w)
        if self.log is not None:
            self.log(f"warning [{check}] epoch {epoch} step {step}: {message}; try: {w['try']}")
        return w

    def check_step(self, record: dict) -> list[dict]:
        """Check one training step's record (loss_D, loss_G, D_x, D_G_z_before, grad norms,
        epoch, step). Returns the warnings it raised."""
        out = []
        epoch, step = int(record.get("epoch", 0)), int(record.get("step", 0))
        losses = [record.get(k, 0.0) for k in ("loss_D", "loss_G")]
        if not all(math.isfinite(v) for v in losses):
            out.append(self._warn("nan", epoch, step, f"non-finite losses {losses}"))
        t = self.d_win_threshold
        if record["loss_D"] < t or record["D_G_z_before"] < t:
            self._streak += 1
        else:
            self._streak = 0
        if self._streak >= self.patience:
            out.append(
                self._warn(
                    "discriminator_wins",
                    epoch,
                    step,
                    f"D loss {record['loss_D']:.3g}, D(G(z)) {record['D_G_z_before']:.3g} "
                    f"below {t} for {self._streak} steps",
                )
            )
        for key, hist in self._grads.items():
            g = float(record.get(key, 0.0))
            if not math.isfinite(g):
                out.append(self._warn("exploding_gradients", epoch, step, f"{key} is {g}"))
                continue
            if len(hist) == hist.maxlen:
                median = float(np.median(hist))
                if median > 0 and g > self.grad_factor * median:
                    msg = f"{key} {g:.3g} is {g / median:.0f}x its running median {median:.3g}"
                    out.append(self._warn("exploding_gradients", epoch, step, msg))
            hist.append(g)
        return [w for w in out if w is not None]

    def check_samples(
        self,
        samples: np.ndarray,
        epoch: int,
        step: int,
        real_diversity: float | None = None,
        predicted: np.ndarray | None = None,
        num_classes: int | None = None,
    ) -> dict:
        """Check a fixed batch of samples at the end of an epoch: mean pairwise distance
        against the real images' (``real_diversity``) and the best so far, and the entropy of
        ``predicted`` classes. Returns ``{'diversity', 'class_entropy', 'warnings'}``."""
        div = mean_pairwise_distance(samples)
        warnings = []
        real = real_diversity or 0.0
        best = self._best_diversity
        if best > 0 and best >= self.diversity_ratio * real and div < self.diversity_ratio * best:
            msg = (
                f"sample diversity {div:.3g} fell below {self.diversity_ratio} x its best "
                f"{best:.3g}"
            )
            warnings.append(self._warn("collapse", epoch, step, msg))
        elif step > self.warmup_steps and real > 0 and div < self.diversity_ratio * real:
            msg = (
                f"sample diversity {div:.3g} is below {self.diversity_ratio} x the real "
                f"images' {real:.3g} after {step} steps"
            )
            warnings.append(self._warn("collapse", epoch, step, msg))
        self._best_diversity = max(self._best_diversity, div)
        entropy = None
        if predicted is not None and num_classes:
            entropy = class_entropy(predicted, num_classes)
            floor = self.entropy_ratio * math.log(num_classes)
            if entropy < floor and step > self.warmup_steps:
                msg = (
                    f"entropy of the classifier's predicted classes {entropy:.3g} nats is "
                    f"below {floor:.3g} (uniform: {math.log(num_classes):.3g})"
                )
                warnings.append(self._warn("collapse", epoch, step, msg, "-classes"))
        return {
            "diversity": div,
            "class_entropy": entropy,
            "warnings": [w for w in warnings if w is not None],
        }

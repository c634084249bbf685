"""GANTrainer: the DCGAN training loop (Radford et al. 2016) with the non-saturating loss.

Each step: the discriminator takes one Adam step on a real batch (target 1) and a generated
batch (target 0, the generator detached); then the generator takes one step so that the
*updated* discriminator calls the same generated batch real. The record of each step holds
both losses, D(x), D(G(z)) three times (``D_G_z_before``: in D's step, before D's update;
``D_G_z_after``: in G's step, after D's update, what the generator's gradient sees: PyTorch's
DCGAN example's ``D_G_z1 / D_G_z2``; ``D_G_z_after_G``: the same z through the *updated*
generator and discriminator, what G's step gained, on logging steps only: an extra forward of
both with batch statistics as in training but the running statistics left untouched, so
logging never changes the trajectory) and both gradient norms.

Per epoch: a grid of samples from fixed noise (``samples/epoch_NNN.png`` and
``progress.gif``), health checks on that batch, an optional evaluation callback (Fréchet
distance), and ``last.safetensors`` (both networks, both optimisers, the RNG, the history:
a resumed run gives exactly the parameters of an uninterrupted one). A non-finite loss stops
training and keeps the last good checkpoint.
"""

from __future__ import annotations

import csv
import math
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

import cnnlab
from cnnlab import backend, nn, optim
from cnnlab.gan.health import HealthMonitor
from cnnlab.gan.networks import GANPair, OptimizerPair
from cnnlab.train.checkpoint import load_checkpoint, restore, save_checkpoint

__all__ = ["GANTrainer", "grad_norm"]

FIELDS = (
    "epoch", "step", "loss_D", "loss_G", "D_x", "D_G_z_before", "D_G_z_after",
    "grad_norm_D", "grad_norm_G", "D_G_z_after_G",
)  # fmt: skip
LOGGED_ONLY = ("D_G_z_after_G",)  # measured on logging steps only (NaN on the others)


def grad_norm(module: nn.Module) -> float:
    """Euclidean norm of all of ``module``'s parameter gradients together."""
    total = 0.0
    for p in module.parameters():
        if p.grad is not None:
            g = backend.to_numpy(p.grad.array).astype(np.float64)
            total += float((g * g).sum())
    return math.sqrt(total)


@contextmanager
def _running_stats_kept(*modules: nn.Module):
    """Run forwards in training mode (batch statistics) without moving any batch-norm
    running statistics or counters: they are put back on exit."""
    saved = [(b, b.array.copy()) for m in modules for b in m.buffers() if b is not None]
    try:
        yield
    finally:
        for b, value in saved:
            b.array[...] = value


def _sigmoid_mean(logits) -> float:
    z = backend.to_numpy(logits.array).astype(np.float64)
    return float((1.0 / (1.0 + np.exp(-z))).mean())


class GANTrainer:
    """Train a generator/discriminator pair on images in [-1, 1].

    Args:
        pair: a :class:`~cnnlab.gan.networks.GANPair`.
        images: training images scaled to [-1, 1] (the generator's tanh range).
        labels: class indices, needed when the networks are conditional.
        epochs: total epochs (a resumed run continues to this number).
        lr: Adam's learning rate for both networks (DCGAN: 2e-4).
        betas: Adam's betas for both networks (DCGAN: (0.5, 0.999)).
        out_dir: where metrics.csv, samples/, progress.gif and last.safetensors go (None:
            nothing written).
        log_every: write a metrics.csv row every N steps.
        config: stored in the checkpoint (the architecture, for loading it back).
        evaluate: optional ``evaluate(trainer) -> dict`` called after each epoch (its numbers
            join the epoch's history row, e.g. ``fid``); ``classify(images) -> classes`` is
            used by the collapse check when given.
        monitor: a :class:`HealthMonitor` (default: one with default thresholds).

    Shape:
        - images: (N, C, H, W) float32 in [-1, 1]; labels: (N,) int
    """

    def __init__(
        self,
        pair: GANPair,
        images: np.ndarray,
        labels: np.ndarray | None = None,
        *,
        epochs: int = 1,
        batch_size: int = 128,
        lr: float = 2e-4,
        betas: tuple = (0.5, 0.999),
        out_dir=None,
        progress: bool = True,
        log_every: int = 10,
        config: dict | None = None,
        evaluate=None,
        classify=None,
        monitor: HealthMonitor | None = None,
        fixed_n: int = 64,
        seed: int = 0,
    ) -> None:
        images = np.asarray(images, np.float32)
        if images.ndim != 4:
            raise ValueError(f"GANTrainer: images must be (N, C, H, W), got {images.shape}")
        if len(images) < batch_size:
            raise ValueError(
                f"GANTrainer: batch_size {batch_size} is larger than the {len(images)} images"
            )
        lo, hi = float(images.min()), float(images.max())
        if lo < -1.0001 or hi > 1.0001 or hi - lo < 0.5:
            raise ValueError(
                f"GANTrainer: images must be scaled to [-1, 1] (the generator's tanh range), "
                f"got values in [{lo:.3g}, {hi:.3g}]"
            )
        self.pair, self.G, self.D = pair, pair.generator, pair.discriminator
        self.conditional = bool(getattr(self.G, "num_classes", 0))
        if self.conditional and labels is None:
            raise ValueError("GANTrainer: the networks are conditional; give labels")
        self.images = images
        self.labels = None if labels is None else np.asarray(labels, np.int64)
        self.epochs, self.batch_size, self.log_every = int(epochs), int(batch_size), log_every
        self.opt_G = optim.Adam(self.G.parameters(), lr=lr, betas=betas)
        self.opt_D = optim.Adam(self.D.parameters(), lr=lr, betas=betas)
        self.loss_fn = nn.BCEWithLogitsLoss()
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.progress, self.config = progress, dict(config or {})
        self.evaluate_fn, self.classify = evaluate, classify
        self.monitor = monitor or HealthMonitor(log=self._log)
        if self.monitor.log is None:
            self.monitor.log = self._log
        fixed = np.random.default_rng(seed + 12345)  # apart from the training RNG
        self.fixed_z = fixed.standard_normal((fixed_n, self.G.nz)).astype(np.float32)
        k = getattr(self.G, "num_classes", 0)
        self.fixed_y = (np.arange(fixed_n) % k) if self.conditional else None
        self.epoch, self.step = 0, 0
        self.history: list[dict] = []
        self.stopped: str | None = None
        self.real_diversity = None

    # ----------------------------------------------------------------- one step
    def _labels(self, idx):
        return None if self.labels is None or not self.conditional else self.labels[idx]

    def train_step(self, x: np.ndarray, y=None, after_g: bool = False) -> dict:
        """One discriminator step and one generator step on a real batch ``x``; returns the
        step's record (losses, D outputs, gradient norms). ``after_g``: also measure
        D(G(z)) on the same z after the generator's update (``D_G_z_after_G``; NaN when
        not measured)."""
        n = len(x)
        real = cnnlab.tensor(x)
        ones, zeros = cnnlab.ones(n, 1), cnnlab.zeros(n, 1)
        z = cnnlab.randn(n, self.G.nz)
        fake = self.G(z, y) if self.conditional else self.G(z)
        d = (lambda t: self.D(t, y)) if self.conditional else self.D

        self.opt_D.zero_grad()
        out_real, out_fake = d(real), d(fake.detach())
        loss_D = self.loss_fn(out_real, ones) + self.loss_fn(out_fake, zeros)
        loss_D.backward()
        gD = grad_norm(self.D)
        self.opt_D.step()

        self.opt_G.zero_grad()
        out = d(fake)
        loss_G = self.loss_fn(out, ones)
        loss_G.backward()
        gG = grad_norm(self.G)
        self.opt_G.step()
        after = math.nan
        if after_g:
            with cnnlab.no_grad(), _running_stats_kept(self.G, self.D):
                after = _sigmoid_mean(d(self.G(z, y) if self.conditional else self.G(z)))
        return {
            "loss_D": float(loss_D.item()),
            "loss_G": float(loss_G.item()),
            "D_x": _sigmoid_mean(out_real),
            "D_G_z_before": _sigmoid_mean(out_fake),
            "D_G_z_after": _sigmoid_mean(out),
            "grad_norm_D": gD,
            "grad_norm_G": gG,
            "D_G_z_after_G": after,
        }

    # ----------------------------------------------------------------- samples
    def fixed_samples(self) -> np.ndarray:
        """The generator's images of the fixed noise, in [-1, 1] (eval mode)."""
        from cnnlab.gan.sampling import generate

        return generate(self.G, self.fixed_z, self.fixed_y)

    # ----------------------------------------------------------------- loop
    def _log(self, msg: str) -> None:
        if self.progress:
            from tqdm.auto import tqdm

            tqdm.write(msg, file=sys.stderr)
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            with open(self.out_dir / "log.txt", "a") as f:
                f.write(msg + "\n")

    def _write_rows(self, rows: list) -> None:
        if self.out_dir is None or not rows:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / "metrics.csv"
        new = not path.exists()
        with open(path, "a", newline="") as f:
            w = csv.DictWriter(f, FIELDS, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerows(rows)

    def _epoch(self) -> bool:
        """One pass over the shuffled images; False when a non-finite loss stopped it."""
        from tqdm.auto import tqdm

        order = backend.default_rng().permutation(len(self.images))
        steps = len(order) // self.batch_size  # drop the last partial batch (BN needs >1)
        sums = {k: 0.0 for k in FIELDS[2:]}
        counts = {k: 0 for k in FIELDS[2:]}
        bar = tqdm(
            range(steps),
            desc=f"epoch {self.epoch + 1}/{self.epochs}",
            disable=not self.progress,
            leave=False,
            file=sys.stderr,
        )
        self.pair.train()
        for i in bar:
            idx = order[i * self.batch_size : (i + 1) * self.batch_size]
            logging = (self.step + 1) % self.log_every == 0
            rec = self.train_step(self.images[idx], self._labels(idx), after_g=logging)
            self.step += 1
            rec = {"epoch": self.epoch + 1, "step": self.step, **rec}
            for k in sums:
                if not (k in LOGGED_ONLY and math.isnan(rec[k])):
                    sums[k] += rec[k]
                    counts[k] += 1
            self.monitor.check_step(rec)
            if not (math.isfinite(rec["loss_D"]) and math.isfinite(rec["loss_G"])):
                self.stopped = f"non-finite loss at epoch {self.epoch + 1}, step {self.step}"
                self._write_rows([rec])
                return False
            if self.step % self.log_every == 0:
                self._write_rows([rec])
            if self.progress:
                bar.set_postfix(
                    D=f"{rec['loss_D']:.3f}",
                    G=f"{rec['loss_G']:.3f}",
                    Dx=f"{rec['D_x']:.2f}",
                    DGz=f"{rec['D_G_z_before']:.2f}/{rec['D_G_z_after']:.2f}",
                    refresh=False,
                )
        bar.close()
        self._means = {k: v / counts[k] for k, v in sums.items() if counts[k]}
        return True

    def _end_of_epoch(self, seconds: float) -> dict:
        from cnnlab.gan import plots

        row = {"epoch": self.epoch, "step": self.step, "time_s": round(seconds, 2)}
        row.update({k: round(v, 5) for k, v in self._means.items()})
        samples = self.fixed_samples()
        predicted = None
        if self.classify is not None:
            predicted = self.classify(samples)
        k = len(self.config.get("classes") or []) or None
        health = self.monitor.check_samples(
            samples, self.epoch, self.step, self.real_diversity, predicted, k
        )
        row["diversity"] = round(health["diversity"], 4)
        if health["class_entropy"] is not None:
            row["class_entropy"] = round(health["class_entropy"], 4)
        if self.evaluate_fn is not None:
            row.update(self.evaluate_fn(self))
        self.history.append(row)
        if self.out_dir is not None:
            grid = self.out_dir / "samples" / f"epoch_{self.epoch:03d}.png"
            plots.save_sample_grid(grid, samples)
            plots.save_progress_gif(self.out_dir / "samples", self.out_dir / "progress.gif")
            plots.plot_metrics(self.out_dir / "metrics.csv", self.out_dir / "metrics.png")
            floor = self.history[-1].get("fid_floor")
            plots.plot_epoch_metric(self.history, "fid", self.out_dir / "fid.png", floor)
            self.save(self.out_dir / "last.safetensors")
        msg = ", ".join(f"{k} {v}" for k, v in row.items() if k not in ("epoch", "step"))
        self._log(f"epoch {self.epoch}/{self.epochs}: {msg}")
        return row

    def fit(self) -> list[dict]:
        """Train to ``epochs``; returns the per-epoch history (means of the step records,
        time, diversity, and whatever ``evaluate`` adds)."""
        if self.real_diversity is None:
            self.real_diversity = self._real_diversity(len(self.fixed_z))
        while self.epoch < self.epochs:
            start = time.perf_counter()
            if not self._epoch():
                self._log(f"stopped: {self.stopped}; the last good checkpoint is kept")
                break
            self.epoch += 1
            self._end_of_epoch(time.perf_counter() - start)
        return self.history

    def _real_diversity(self, n: int) -> float:
        """Mean pairwise distance of ``n`` training images spread over the set."""
        from cnnlab.gan.health import mean_pairwise_distance

        spread = np.linspace(0, len(self.images) - 1, min(n, len(self.images))).astype(np.int64)
        return mean_pairwise_distance(self.images[spread])

    # ----------------------------------------------------------------- checkpoints
    def save(self, path) -> Path:
        """Both networks, both optimisers, the RNG, config and history, atomically."""
        return save_checkpoint(
            path,
            model=self.pair,
            optimizer=OptimizerPair(self.opt_G, self.opt_D),
            epoch=self.epoch,
            config=self.config,
            metrics={
                "step": self.step,
                "history": self.history,
                "health": self.monitor.state_dict(),
                "real_diversity": self.real_diversity,
            },
        )

    def resume(self, path) -> int:
        """Continue from a checkpoint written by :meth:`save`; returns its epoch. Rows of
        metrics.csv written after that checkpoint (an interrupted epoch) are dropped."""
        ckpt = load_checkpoint(path)
        self.epoch = restore(ckpt, self.pair, OptimizerPair(self.opt_G, self.opt_D))
        m = ckpt.metrics
        self.step = int(m["step"])
        self.history = [dict(r) for r in m["history"]]
        self.monitor.load_state_dict(m["health"])
        self.real_diversity = m.get("real_diversity")
        if self.out_dir is not None and (self.out_dir / "metrics.csv").exists():
            path = self.out_dir / "metrics.csv"
            with open(path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= self.step]
            with open(path, "w", newline="") as f:
                w = csv.DictWriter(f, FIELDS)
                w.writeheader()
                w.writerows(rows)
        return self.epoch

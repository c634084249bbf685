"""``cnnlab train --distributed``: what changes in a training run when it spans N ranks.

:func:`from_config` returns None for an ordinary run, or a :class:`DistributedRun` that
:func:`cnnlab.train.run.train` asks, at a few points, to shard the loaders (training by a
:class:`DistributedDataLoader`, evaluation by disjoint slices reduced afterwards), to
prepare the model (``--sync-bn``, rank 0's weights everywhere, a start-up check that every
rank has the same config and parameter shapes) and for the Trainer class, whose hook
averages the gradients between backward and the optimiser step. Rank 0 alone writes
logs, plots, checkpoints and the summary and shows the progress bar.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from cnnlab import data as cdata
from cnnlab.distributed import mpi
from cnnlab.distributed.sampler import DistributedDataLoader, shard_range
from cnnlab.train.evaluation import evaluate
from cnnlab.train.trainer import Trainer

__all__ = [
    "DistributedRun",
    "DistributedTrainer",
    "check_same_options",
    "from_config",
    "reduce_metrics",
]

LR_SCALINGS = ("none", "linear")


def reduce_metrics(result: dict) -> dict:
    """Combine ``{'loss', 'acc', 'n'}`` of every rank's shard into the whole set's figures."""
    n = result["n"]
    loss = result.get("loss", float("nan"))
    sums = np.array([loss * n if np.isfinite(loss) else 0.0, result["acc"] * n if n else 0.0, n])
    mpi.all_reduce(sums)
    total = sums[2]
    out = dict(result)
    out.update(
        loss=sums[0] / total if total and np.isfinite(loss) else loss,
        acc=sums[1] / total if total else float("nan"),
        n=int(total),
    )
    return out


def code_fingerprint() -> str:
    """A hash of cnnlab's own source files: ranks running different code versions differ."""
    import hashlib
    from pathlib import Path

    import cnnlab

    h = hashlib.sha256(str(getattr(cnnlab, "__version__", "")).encode())
    root = Path(cnnlab.__file__).parent
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


class DistributedTrainer(Trainer):
    """A Trainer whose ranks average gradients each step and reduce their metrics."""

    bucket_mb = 4.0

    def after_backward(self) -> None:
        mpi.all_reduce_gradients(self.model, self.bucket_mb)

    def train_epoch(self, epoch: int) -> dict:
        local = super().train_epoch(epoch)
        n = float(len(self.train_loader.sampler))
        sums = np.array([local["loss"] * n, local["acc"] * n, n, local["img_per_s"]])
        mpi.all_reduce(sums)
        # local batch norm drifts apart per rank: evaluate and save rank 0's statistics
        mpi.broadcast_parameters(self.model)
        return {
            **local,
            "loss": sums[0] / sums[2],
            "acc": sums[1] / sums[2],
            "img_per_s": sums[3],
        }

    def evaluate(self, loader, return_outputs: bool = False, desc: str = "eval") -> dict:
        res = evaluate(self.model, loader, self.loss_fn, False, self.progress, desc)
        return reduce_metrics(res)


def check_same_options(cfg: dict) -> None:
    """Refuse ranks started with different options, naming each option that differs and
    its value on rank 0 and on the rank that differs."""
    texts = mpi.gather_text(json.dumps(cfg, sort_keys=True, default=str))
    first = json.loads(texts[0])
    diffs = []
    for r, text in enumerate(texts[1:], 1):
        other = json.loads(text)
        for k in sorted(set(first) | set(other)):
            if first.get(k) != other.get(k):
                name = "--" + k.replace("_", "-")
                diffs.append(f"{name} ({first.get(k)} on rank 0, {other.get(k)} on rank {r})")
    if diffs:
        shown = "; ".join(diffs[:6]) + (f"; and {len(diffs) - 6} more" if len(diffs) > 6 else "")
        raise RuntimeError(
            f"cnnlab.distributed: the ranks were started with different options: {shown}; "
            "start every rank with the same options"
        )


class DistributedRun:
    """The distributed side of one ``cnnlab train`` run (see the module docstring)."""

    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        self.rank, self.world = mpi.rank(), mpi.world_size()

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, train_loader, val_loader, test_loader):
        """This rank's loaders: a shard of the training set, a slice of each evaluation set."""
        train = DistributedDataLoader(
            train_loader.dataset,
            train_loader.batch_size,
            shuffle=True,
            seed=train_loader.seed,
            drop_last=train_loader.drop_last,
            num_workers=train_loader.num_workers,
        )

        def part(loader):
            if loader is None:
                return None
            ds = cdata.Subset(loader.dataset, shard_range(len(loader.dataset)))
            return cdata.DataLoader(  # loader's seed: drawing one would shift the model's init
                ds,
                loader.batch_size,
                shuffle=False,
                seed=loader.seed,
                num_workers=loader.num_workers,
            )

        self.full_sizes = {
            "train": len(train_loader.dataset),
            "test": len(test_loader.dataset),
            **({"val": len(val_loader.dataset)} if val_loader is not None else {}),
        }
        return train, part(val_loader), part(test_loader)

    def prepare_model(self, model):
        """``--sync-bn``, then rank 0's parameters and buffers on every rank, after checking
        that every rank runs the same config on a model of the same shapes."""
        if self.cfg.get("sync_bn"):
            from cnnlab.distributed.sync_batchnorm import convert_sync_batchnorm

            model = convert_sync_batchnorm(model)
        shapes = [(n, tuple(p.shape), str(p.dtype)) for n, p in model.named_parameters()]
        mpi.check_same(code_fingerprint(), "cnnlab code (the package's source files)")
        check_same_options(self.cfg)
        mpi.check_same(repr(shapes), "model (parameter names and shapes)")
        mpi.broadcast_parameters(model)
        return model

    def trainer_options(self, out_dir, progress: bool) -> dict:
        """Rank 0 writes and shows progress; the others write nothing."""
        return {"out_dir": out_dir if self.is_main else None, "progress": progress and self.is_main}

    def evaluate(self, model, loader, loss_fn, progress=False, desc="eval") -> dict:
        res = evaluate(model, loader, loss_fn, progress=progress and self.is_main, desc=desc)
        return reduce_metrics(res)

    def summary(self) -> dict:
        b = int(self.cfg["batch_size"])
        return {
            "world_size": self.world,
            "batch_size_per_rank": b,
            "global_batch_size": b * self.world,
            "lr_scaling": self.cfg.get("lr_scaling") or "none",
            "sync_bn": bool(self.cfg.get("sync_bn")),
            "train_images": self.full_sizes["train"],
            "test_images": self.full_sizes["test"],
            **({"val_images": self.full_sizes["val"]} if "val" in self.full_sizes else {}),
        }

    def say(self, msg: str) -> None:
        if self.is_main:
            print(msg, file=sys.stderr, flush=True)


def _resume_message(trained: int, now: int, b: int, path) -> str:
    return (
        f"--resume {path}: this run was trained on {trained} process(es) (global batch "
        f"{trained} x {b} = {trained * b}); now {now} are running. Resume it on {trained}: "
        f"`mpirun -n {trained} cnnlab train --distributed --resume {path}` (or "
        f"`cnnlab train --nprocs {trained} --resume {path}`). With a different number the "
        "data order and the global batch (so the learning-rate schedule) would change "
        "mid-run; to continue on another number of processes, start a new run."
    )


def from_config(cfg: dict, resume=None, default_lr: dict | None = None) -> DistributedRun | None:
    """None for a one-process run; else the run's :class:`DistributedRun`, after the checks.

    Records ``world_size`` and the global batch in ``cfg``; scales ``cfg['lr']`` by the
    world size with ``lr_scaling='linear'`` (on a fresh run only: a resumed run keeps its
    own). Raises ValueError for a resume on a different number of processes, or for a
    run started by mpirun on several processes without ``--distributed``.
    """
    if not cfg.get("distributed"):
        if mpi.launched_by_mpirun() and mpi.available():
            from mpi4py import MPI

            if MPI.COMM_WORLD.Get_size() > 1:
                raise ValueError(
                    f"started by mpirun on {MPI.COMM_WORLD.Get_size()} processes without "
                    "--distributed: every process would train alone and write the same "
                    "files; add --distributed"
                )
        return None
    mpi.init(required=True)
    world = mpi.world_size()
    scaling = cfg.get("lr_scaling") or "none"
    if scaling not in LR_SCALINGS:
        raise ValueError(f"--lr-scaling must be one of {', '.join(LR_SCALINGS)}, got {scaling!r}")
    b = int(cfg["batch_size"])
    if resume is not None:
        trained = int(cfg.get("world_size", 1))
        if trained != world:
            raise ValueError(_resume_message(trained, world, b, resume))
    else:
        if scaling == "linear":
            base = cfg.get("lr") or (default_lr or {}).get(cfg.get("optimizer", "sgd"))
            cfg["lr"] = float(base) * world
        cfg["world_size"] = world
        cfg["global_batch_size"] = b * world
    run = DistributedRun(cfg)
    if world == 1 and not mpi.launched_by_mpirun():
        run.say(
            "cnnlab: --distributed outside mpirun runs as one process; start it with "
            "`mpirun -n N cnnlab train --distributed ...` or `cnnlab train --nprocs N ...`"
        )
    run.say(
        f"cnnlab: data-parallel on {world} process(es): {b} images per rank per step, "
        f"global batch {world} x {b} = {world * b}; lr {cfg.get('lr') or 'default'} "
        f"(lr scaling: {scaling}); batch norm: {'synchronised' if cfg.get('sync_bn') else 'local'}"
    )
    return run

"""Training checkpoints: one safetensors file with everything needed to resume a run.

Layout: arrays live in the tensor section under prefixed keys (``model.<name>`` for the
model's state_dict, ``optim.state.<i>.<key>`` for optimiser buffers, and so on); everything
else (epoch, config, optimiser hyperparameters, scheduler state, RNG states, metrics) is one
JSON document in the string metadata under ``cnnlab.checkpoint``, with each array replaced by
``{"__tensor__": key}``. Loading parses JSON and raw tensors only, so it never runs code.

Files are written atomically: a temporary file in the same directory, flushed and fsynced,
then ``os.replace``-d over the target and the directory fsynced. A crash mid-save leaves the
previous checkpoint as it was.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnlab import backend
from cnnlab.io import skeleton

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "atomic_write_bytes",
    "check_config",
    "load_checkpoint",
    "model_from_checkpoint",
    "restore",
    "save_checkpoint",
]

FORMAT = "cnnlab.checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupt or does not fit the model."""


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns; the ``*_state`` fields feed ``load_state_dict``."""

    path: str
    epoch: int
    model_state: dict
    optimizer_state: dict | None = None
    scheduler_state: dict | None = None
    rng_state: dict | None = None
    loader_state: dict | None = None
    config: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)


# --------------------------------------------------------------------- encoding
def _encode(value, key: str, tensors: dict):
    """JSON-able skeleton of ``value``; arrays go to ``tensors`` (cnnlab.io.skeleton)."""
    return skeleton.encode(value, key, tensors, CheckpointError)


def _decode(value, tensors: dict):
    return skeleton.decode(value, lambda key, kind: tensors[key])


# --------------------------------------------------------------------- writing
def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable; not possible on every platform
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def save_checkpoint(
    path,
    *,
    model,
    optimizer=None,
    scheduler=None,
    epoch: int = 0,
    loader=None,
    config: dict | None = None,
    metrics: dict | None = None,
) -> Path:
    """Save model, optimiser, scheduler, RNG and loader states plus ``config`` to ``path``.

    ``epoch`` is the number of finished epochs; a run resumed from this file starts there.
    """
    from safetensors.numpy import save

    tensors: dict = {}
    meta = {
        "version": VERSION,
        "epoch": int(epoch),
        "model": _encode(model.state_dict(), "model", tensors),
        "optim": None if optimizer is None else _encode(optimizer.state_dict(), "optim", tensors),
        "sched": None if scheduler is None else _encode(scheduler.state_dict(), "sched", tensors),
        "rng": _encode(backend.get_rng_state(), "rng", tensors),
        "loader": None if loader is None else _encode(loader.state_dict(), "loader", tensors),
        "config": _encode(config or {}, "config", tensors),
        "metrics": _encode(metrics or {}, "metrics", tensors),
    }
    data = save(tensors, metadata={FORMAT: json.dumps(meta)})
    atomic_write_bytes(path, data)
    return Path(path)


# --------------------------------------------------------------------- reading
def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`; errors are :class:`CheckpointError`."""
    from safetensors.numpy import load

    path = Path(path)
    if path.is_dir():
        path = path / "last.safetensors"
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read checkpoint ({e.strerror or e})") from None
    from cnnlab.io.torch_pickle import is_torch_file

    if is_torch_file(raw[:8]):
        raise CheckpointError(
            f"{path} is a PyTorch checkpoint (torch.save, a pickle), not a cnnlab checkpoint; "
            "cnnlab never unpickles files. Read its weights without running code with "
            "cnnlab.io.load_torch_checkpoint(path) (a dict of NumPy arrays with PyTorch's "
            "key names), load them with model.load_state_dict(...) into the matching "
            "cnnlab model, and save a cnnlab checkpoint with "
            "cnnlab.train.save_checkpoint(path, model=model, config={'model': NAME})"
        )
    try:
        tensors = load(raw)
        header_len = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8 : 8 + header_len])
        meta = json.loads(header["__metadata__"][FORMAT])
    except KeyError:
        raise CheckpointError(f"{path}: not a cnnlab checkpoint (no '{FORMAT}' metadata)") from None
    except Exception as e:  # safetensors raises its own error types; all mean a bad file
        raise CheckpointError(f"{path}: corrupt or truncated checkpoint ({e})") from None
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: unsupported checkpoint version {meta.get('version')}")
    try:
        fields = {
            k: _decode(meta[k], tensors)
            for k in ("model", "optim", "sched", "rng", "loader", "config", "metrics")
        }
    except KeyError as e:
        raise CheckpointError(f"{path}: checkpoint refers to missing tensor {e}") from None
    return Checkpoint(
        path=str(path),
        epoch=int(meta["epoch"]),
        model_state=fields["model"],
        optimizer_state=fields["optim"],
        scheduler_state=fields["sched"],
        rng_state=fields["rng"],
        loader_state=fields["loader"],
        config=fields["config"],
        metrics=fields["metrics"],
    )


def restore(
    ckpt: Checkpoint, model=None, optimizer=None, scheduler=None, loader=None, rng: bool = True
) -> int:
    """Load the checkpoint's states into the given objects; returns the epoch to start from."""
    try:
        if model is not None:
            model.load_state_dict(ckpt.model_state)
        if optimizer is not None and ckpt.optimizer_state is not None:
            optimizer.load_state_dict(ckpt.optimizer_state)
        if scheduler is not None and ckpt.scheduler_state is not None:
            scheduler.load_state_dict(ckpt.scheduler_state)
        if loader is not None and ckpt.loader_state is not None:
            loader.load_state_dict(ckpt.loader_state)
    except (ValueError, KeyError, RuntimeError) as e:
        raise CheckpointError(f"{ckpt.path}: does not fit this run: {e}") from None
    if rng and ckpt.rng_state is not None:
        backend.set_rng_state(ckpt.rng_state)
    return ckpt.epoch


MAX_CLASSES = 1_000_000
MAX_CHANNELS = 4096
MAX_SIDE = 8192


def _count(cfg: dict, key: str, hi: int, where: str):
    v = cfg.get(key)
    if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= hi):
        raise CheckpointError(f"{where}: config {key}={v!r:.40} is not an integer in [1, {hi}]")
    return v


def check_config(ckpt: Checkpoint) -> None:
    """Check a checkpoint's config against its own tensors before a model is built from it:
    a crafted config (``num_classes=3000000`` beside a 10-class LeNet's weights) would make
    us build a model of gigabytes before ``load_state_dict`` refused it. ``num_classes`` must
    be the first dimension of some tensor (the classifier's weight and bias), ``in_channels``
    at most :data:`MAX_CHANNELS` (a grey model may repeat its input into an RGB stem, so it
    is not matched to a weight), ``input_size`` two sides of at most :data:`MAX_SIDE`."""
    cfg, where = ckpt.config, ckpt.path
    if not isinstance(cfg, dict):
        raise CheckpointError(f"{where}: the config is a {type(cfg).__name__}, not a mapping")
    shapes = [tuple(np.shape(v)) for v in ckpt.model_state.values()]
    n = _count(cfg, "num_classes", MAX_CLASSES, where)
    if n is not None and shapes and not any(s and s[0] == n for s in shapes):
        raise CheckpointError(
            f"{where}: config num_classes={n}, but no tensor has {n} rows (the last one is "
            f"{shapes[-1]}): the config does not match the weights"
        )
    _count(cfg, "in_channels", MAX_CHANNELS, where)  # not matched to a stem: grey="repeat"
    size = cfg.get("input_size")
    if size is not None and not (
        isinstance(size, (list, tuple))
        and len(size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_SIDE for v in size)
    ):
        raise CheckpointError(
            f"{where}: config input_size={size!r:.60} is not two sides in [1, {MAX_SIDE}]"
        )
    if not isinstance(cfg.get("model_options", {}), dict):
        raise CheckpointError(f"{where}: config model_options is not a mapping")


def model_from_checkpoint(path):
    """Rebuild the model a checkpoint was trained with (from its config) and load its weights.

    Returns ``(model in eval mode, Checkpoint)``.
    """
    from cnnlab import models

    ckpt = load_checkpoint(path)
    cfg = ckpt.config
    if "model" not in cfg:
        raise CheckpointError(f"{ckpt.path}: no model name in the checkpoint's config")
    check_config(ckpt)
    model = models.create(
        cfg["model"],
        num_classes=cfg.get("num_classes"),
        in_channels=cfg.get("in_channels"),
        **cfg.get("model_options", {}),
    )
    restore(ckpt, model, rng=False)
    return model.eval(), ckpt

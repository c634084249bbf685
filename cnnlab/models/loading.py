"""Opening a model for the commands: the one place that turns what a user names into a model
and what feeding it needs.

A user names a training checkpoint (``cnnlab train``'s safetensors file: its config gives the
architecture, input size, normalisation, class names and data set), a zoo name (random
weights), a pretrained zoo name (ImageNet weights and class names) or an ONNX file (its
graph input gives the input size; cnnlab's exports carry their class names and hold their
normalisation inside). :func:`open_model` returns a :class:`LoadedModel` for all four; every
command (``predict``, ``eval``, ``explain``, ``attack``, ``export``, ``features``, ``serve``)
and package goes through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import cnnlab
from cnnlab import backend, nn

__all__ = ["LoadedModel", "Normalized", "open_model", "resolve_class"]


class Normalized(nn.Module):
    """``model((x - mean) / std)``: a data set's normalisation inside the model, so that it
    takes images in [0, 1] (attacks measure their ε on those; ONNX exports hold it).

    Shape: x ``(N, C, H, W)`` -> the model's output.
    """

    def __init__(self, model, mean, std) -> None:
        super().__init__()
        self.model = model
        self.register_buffer(
            "mean",
            cnnlab.tensor(np.asarray(mean, np.float32).reshape(1, -1, 1, 1)),
            persistent=False,
        )
        self.register_buffer(
            "std", cnnlab.tensor(np.asarray(std, np.float32).reshape(1, -1, 1, 1)), persistent=False
        )

    def forward(self, x):
        return self.model((x - self.mean) / self.std)


def resolve_class(target, classes, option: str = "--target") -> int | None:
    """A class index from ``target``: None, an int (or its text), or a class name
    (case-insensitive; an unambiguous prefix is enough, ``sneak`` for ``Sneaker``).
    ``option`` names what the user set, for the error."""
    if target is None or target == "":
        return None
    if isinstance(target, (int, np.integer)) or str(target).strip().lstrip("-").isdigit():
        return int(target)
    names = [str(c).lower() for c in (classes or [])]
    text = str(target).strip().lower()
    hits = [i for i, c in enumerate(names) if c == text] or [
        i for i, c in enumerate(names) if c.startswith(text)
    ]
    if len(hits) != 1:
        known = ", ".join(str(c) for c in classes or []) or "none recorded"
        what = "matches several classes" if hits else "names no class"
        raise ValueError(f"{option} {target!r} {what}; classes: {known}")
    return hits[0]


@dataclass
class LoadedModel:
    """A model in eval mode with what feeding it needs: input ``shape`` (C, H, W),
    ``normalize`` ((mean, std) the model expects its [0, 1] images mapped through, or None),
    ``classes`` (names or None), ``data`` (the data set it was trained on, or None),
    ``source`` (what was opened, for messages) and ``task`` (what its output means:
    ``'classify'`` (N, classes) or ``'segment'`` (N, classes, H, W); the training config's or
    the registry's word, so that other tasks plug in by name); ``config``: a training
    checkpoint's config (its run's settings, such as a captioner's words and beam), else empty."""

    model: nn.Module
    shape: tuple
    normalize: tuple | None = None
    classes: list | None = None
    data: str | None = None
    source: str = ""
    task: str = "classify"
    config: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.shape = tuple(int(s) for s in self.shape)

    def class_index(self, target, option: str = "--target") -> int | None:
        """:func:`resolve_class` against this model's class names."""
        return resolve_class(target, self.classes, option)

    def label(self, index) -> str:
        """The class name of ``index`` (the index itself where no names are recorded)."""
        if index is None:
            return ""
        i = int(index)
        return str(self.classes[i]) if self.classes and 0 <= i < len(self.classes) else str(i)

    def pixel_model(self) -> nn.Module:
        """The model taking images in [0, 1]: with its normalisation inside
        (:class:`Normalized`) where it has one."""
        if self.normalize is None:
            return self.model
        return Normalized(self.model, *self.normalize).eval()

    def predict_probs(self, batch) -> np.ndarray:
        """Softmax probabilities of images in [0, 1], under ``no_grad``.

        Shape: batch (N, C, H, W) -> (N, classes)."""
        x = cnnlab.tensor(np.asarray(batch, np.float32))
        with cnnlab.no_grad():
            logits = backend.to_numpy(self.pixel_model()(x).array).astype(np.float64)
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def open_model(
    checkpoint=None,
    name: str | None = None,
    pretrained: bool = False,
    script=None,
    input_shape=None,
) -> LoadedModel:
    """Open a training checkpoint or an ONNX file (``checkpoint``: a path; ``.onnx`` files
    are read as ONNX), or a zoo model (``name``; ``pretrained`` for its ImageNet weights and
    class names), in eval mode. With ``script``, ``checkpoint`` is a bare state_dict (a
    tutorial's ``torch.save(model.state_dict(), ...)``) and the script's own model class
    holds it (:mod:`cnnlab.run.classes`; ``input_shape`` (C, H, W) if not guessed)."""
    if (checkpoint is None) == (name is None):
        raise ValueError("give a CHECKPOINT or --model NAME (not both)")
    if checkpoint is not None:
        path = Path(checkpoint)
        if script is not None:
            return _open_state_dict(path, script, input_shape)
        if path.suffix.lower() == ".onnx":
            return _open_onnx(path)
        return _open_checkpoint(path)
    from cnnlab import models

    model = models.create(name, pretrained=pretrained).eval()
    info = models.info(name)
    classes = None
    if pretrained and info["num_classes"] == 1000:
        from cnnlab.io import imagenet_classes

        classes = imagenet_classes()
    what = f"{name} ({'pretrained' if pretrained else 'random weights'})"
    task = info.get("task") or "classify"
    return LoadedModel(model, info["input_shape"], None, classes, None, what, task)


def _open_checkpoint(path: Path) -> LoadedModel:
    from cnnlab.train.checkpoint import CheckpointError, model_from_checkpoint

    try:
        model, ckpt = model_from_checkpoint(path)
    except CheckpointError as e:
        if "not a cnnlab checkpoint" not in str(e):
            raise
        raise CheckpointError(
            f"{e}; if it is a state_dict saved with torch.save, name the script that defines "
            "its model class: --script SCRIPT"
        ) from None
    cfg = ckpt.config
    shape = (int(cfg.get("in_channels", 1)), *(cfg.get("input_size") or (28, 28)))
    norm = (cfg["mean"], cfg["std"]) if "mean" in cfg and "std" in cfg else None
    task = cfg.get("task") or "classify"
    classes, data = cfg.get("classes"), cfg.get("data")
    return LoadedModel(model.eval(), shape, norm, classes, data, str(path), task, dict(cfg))


def _open_state_dict(path: Path, script, input_shape) -> LoadedModel:
    from cnnlab.run.classes import model_from_script

    state = cnnlab.load(path, weights_only=True)
    if not isinstance(state, dict) or not all(hasattr(v, "shape") for v in state.values()):
        raise ValueError(f"{path}: expected a state_dict (names to tensors) with --script")
    model, shape = model_from_script(script, state, input_shape=input_shape)
    return LoadedModel(model, shape, None, None, None, f"{path} ({type(model).__name__})")


def _open_onnx(path: Path) -> LoadedModel:
    """An ONNX image classifier: its first graph input must be (N, C, H, W) with C, H and W
    fixed; class names from cnnlab's metadata (None otherwise)."""
    from cnnlab.onnx import load

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such ONNX file")
    model = load(path).eval()  # read once, with cnnlab.onnx.read's checks on untrusted files
    first = model.input_names[0] if model.input_names else None
    shape = list(model.input_shapes[0] or []) if model.input_shapes else []
    if len(shape) != 4 or any(s is None or s < 1 for s in shape[1:]):
        raise ValueError(
            f"{path}: expected an image model whose input is (N, C, H, W) with C, H, W fixed, "
            f"got input {first!r} of shape {shape}"
        )
    return LoadedModel(model, shape[1:], None, model.class_names, None, str(path))

"""A captioner as two ONNX graphs: the encoder, run once per image, and one decoder step,
run once per word (the loop and the choice of word, greedy or by beam, stay outside, as in
any runtime's generation loop).

``encoder.onnx``: ``images (N, C, H, W)`` -> ``memory`` (the model's per-image tensors:
``show_tell`` one, ``show_attend_tell`` two, the features and their attention keys), then
``h``, ``c`` (the initial state).
``step.onnx``: ``token (N,)`` int64, ``h``, ``c``, the memory -> ``scores (N, V)``, the new
``h``, ``c`` and, for an attention model, ``alpha (N, L)``, the word's attention map.
A whole caption in one graph would need ONNX's ``Loop`` with the argmax inside; cnnlab's
exporter traces one run of Python code and writes no control flow, so it is left out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import cnnlab
from cnnlab import nn

__all__ = ["CaptionEncoder", "CaptionStep", "export_captioner"]


def _memory(memory) -> tuple:
    return memory if isinstance(memory, tuple) else (memory,)


class CaptionEncoder(nn.Module):
    """``images -> (*memory, h0, c0)`` of a captioner."""

    def __init__(self, captioner) -> None:
        super().__init__()
        self.captioner = captioner

    def forward(self, images):
        memory = self.captioner.encode(images)
        return (*_memory(memory), *self.captioner.init_state(memory))


class CaptionStep(nn.Module):
    """``(token, h, c, *memory) -> (scores, h, c[, alpha])``: one word of a captioner."""

    def __init__(self, captioner) -> None:
        super().__init__()
        self.captioner = captioner

    def forward(self, token, h, c, *memory):
        memory = memory if len(memory) > 1 else memory[0]
        scores, (h, c), alpha = self.captioner.step(memory, token, (h, c))
        return (scores, h, c) if alpha is None else (scores, h, c, alpha)


def export_captioner(model, folder, input_shape=(1, 64, 64), opset: int = 17) -> dict:
    """Write ``folder/encoder.onnx`` and ``folder/step.onnx`` for ``model`` (see the module
    docstring); returns ``{'encoder', 'step', 'memory', 'outputs'}`` (paths and the graphs'
    value names)."""
    from cnnlab.onnx import export

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    images = cnnlab.tensor(np.zeros((2, *input_shape), np.float32))
    with cnnlab.no_grad():
        memory = model.encode(images)
        h, c = model.init_state(memory)
    memory = _memory(memory)
    mem_names = [f"memory{i}" for i in range(len(memory))]
    encoder = folder / "encoder.onnx"
    # the wrappers in eval mode: export restores the mode it found, on the captioner too
    export(
        CaptionEncoder(model).eval(), images, encoder, opset, output_names=(*mem_names, "h", "c")
    )
    token = cnnlab.tensor(np.array([1, 1], np.int64))
    outputs = ["scores", "h_next", "c_next"]
    if len(memory) > 1:
        outputs.append("alpha")
    step = folder / "step.onnx"
    export(
        CaptionStep(model).eval(),
        (token, h, c, *memory),
        step,
        opset,
        input_names=("token", "h", "c", *mem_names),
        output_names=outputs,
    )
    return {"encoder": str(encoder), "step": str(step), "memory": mem_names, "outputs": outputs}


def export_command(out, checkpoint=None, name: str | None = None, opset: int = 17):
    """``cnnlab export`` of a captioner: the two graphs into the folder ``out`` (a trailing
    ``.onnx`` dropped). Returns None when the checkpoint or zoo name is not a captioner (the
    command then exports it as one graph)."""
    from cnnlab import models
    from cnnlab.train.checkpoint import load_checkpoint, model_from_checkpoint

    if name is not None:
        if models.info(name)["task"] != "caption":
            return None
        model, shape = models.create(name), models.info(name)["input_shape"]
    else:
        if load_checkpoint(checkpoint).config.get("task") != "caption":
            return None
        model, ckpt = model_from_checkpoint(checkpoint)
        shape = (int(ckpt.config["in_channels"]), *ckpt.config["input_size"])
    folder = Path(str(out)[: -len(".onnx")] if str(out).endswith(".onnx") else out)
    return export_captioner(model, folder, tuple(shape), opset)

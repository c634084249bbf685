"""What ``cnnlab export`` does: load a checkpoint or a zoo model, export it, check the file
and, when onnxruntime is installed, compare its outputs with cnnlab's. The CLI module only
parses arguments and prints :func:`export_model`'s report.
"""

from __future__ import annotations

import numpy as np

import cnnlab
from cnnlab.onnx.export import export

__all__ = ["compare_with_onnxruntime", "export_model"]


def _model(checkpoint, name, pretrained):
    """``(model taking [0, 1] images, (C, H, W), class names, description)``: a checkpoint
    from ``cnnlab train`` gets its data set's normalisation inside the graph."""
    from cnnlab.models.loading import open_model

    info = open_model(checkpoint, name, pretrained)
    model = info.pixel_model()
    what = name or str(checkpoint)
    if info.normalize is not None:
        what += f" (normalisation mean={info.normalize[0]}, std={info.normalize[1]} inside)"
    return model.eval(), info.shape, info.classes, what


def compare_with_onnxruntime(path, model, x: np.ndarray, input_name: str = "input"):
    """``(onnxruntime version, max |ours - theirs|)`` on input ``x``, or None without
    onnxruntime."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {input_name: x})[0]
    with cnnlab.no_grad():
        ours = model(cnnlab.tensor(x)).numpy()
    return ort.__version__, float(np.abs(ours - theirs).max())


def export_model(
    out,
    checkpoint=None,
    name: str | None = None,
    pretrained: bool = False,
    opset: int = 17,
    batch: int | None = None,
    seed: int = 0,
) -> dict:
    """Export a checkpoint or a zoo model to ``out``; return what was written and checked.

    ``batch=None`` gives a symbolic batch dimension; an int fixes it. The comparison with
    onnxruntime runs on uniform random images in [0, 1] (batch 3 when symbolic, so it
    differs from the example batch of 2 the graph was traced with).
    """
    if batch is not None and batch < 1:
        raise ValueError(f"export: --batch must be at least 1, got {batch}")
    model, shape, classes, what = _model(checkpoint, name, pretrained)
    rng = np.random.default_rng(seed)
    example = rng.random((batch or 2, *shape), dtype=np.float32)
    proto = export(
        model, example, out, opset=opset, dynamic_batch=batch is None, class_names=classes
    )
    x = rng.random((batch or 3, *shape), dtype=np.float32)
    return {
        "path": str(out),
        "model": what,
        "opset": opset,
        "nodes": len(proto.graph.node),
        "ops": sorted({n.op_type for n in proto.graph.node}),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "input_shape": ["batch" if batch is None else batch, *shape],
        "classes": len(classes) if classes else 0,
        "check": "onnx.checker passed (with shape inference)",
        "onnxruntime": compare_with_onnxruntime(out, model, x),
        "compare_batch": len(x),
    }

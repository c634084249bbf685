"""ONNX out and in: :func:`export` writes a cnnlab model as an ONNX graph (traced from its
forward pass), :func:`load` reads an ONNX CNN graph as a differentiable cnnlab Module.

Both need the optional ``onnx`` package (``pip install cnnlab[onnx]``); it is imported on
first use, so ``import cnnlab.onnx`` works without it. The op table of both directions is
:mod:`cnnlab.onnx.ops`.
"""

from cnnlab.onnx.export import export
from cnnlab.onnx.load import OnnxModel, load

__all__ = ["OnnxModel", "export", "load"]

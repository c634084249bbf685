"""ONNX out and in: :func:`export` writes a cnnlab model as an ONNX graph (traced from its
forward pass), :func:`load` reads an ONNX graph as a differentiable cnnlab Module, checking
files from anyone first (:mod:`cnnlab.onnx.read`); :mod:`cnnlab.onnx.backend` plugs cnnlab
into ONNX's backend interface and its conformance suite.

Both need the optional ``onnx`` package (``pip install cnnlab[onnx]``); it is imported on
first use, so ``import cnnlab.onnx`` works without it. The op table of both directions is
:mod:`cnnlab.onnx.ops` (import rules by family: ``layers``, ``conv``, ``pooling``,
``simple``, ``shapes``, ``reductions``, ``norms``, ``resize``, ``recurrent``, ``logic``).
"""

from cnnlab.onnx.export import export
from cnnlab.onnx.load import OnnxModel, load

__all__ = ["OnnxModel", "export", "load"]

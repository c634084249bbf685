"""cnnlab as an ONNX backend (:class:`onnx.backend.base.Backend`), so that ONNX's own
conformance runner (``onnx.backend.test.BackendTest``) can run its cases on cnnlab.

``CnnlabBackend.prepare(model)`` loads the graph with :func:`cnnlab.onnx.load` (every graph
input that is not an initializer stays an input, weights included) and returns a
:class:`CnnlabRep` whose ``run(inputs)`` feeds NumPy arrays in and gives NumPy arrays back.
"""

from __future__ import annotations

import numpy as np

import cnnlab
from cnnlab.autograd import Tensor, no_grad
from cnnlab.onnx.load import load

__all__ = ["CnnlabBackend", "CnnlabRep"]


class CnnlabRep:
    """A loaded graph, run on NumPy inputs (in the graph's input order)."""

    def __init__(self, model) -> None:
        self.model = model

    def run(self, inputs, **kwargs) -> tuple:
        if isinstance(inputs, dict):
            inputs = [inputs[n] for n in self.model.input_names]
        elif not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        xs = [cnnlab.tensor(np.asarray(x)) for x in inputs]
        with no_grad():
            out = self.model(*xs)
        out = out if isinstance(out, tuple) else (out,)
        return tuple(o.numpy() if isinstance(o, Tensor) else np.asarray(o) for o in out)


def _base():
    from onnx.backend.base import Backend

    return Backend


class CnnlabBackend:
    """ONNX's backend interface over :func:`cnnlab.onnx.load` (CPU only)."""

    @classmethod
    def is_compatible(cls, model, device: str = "CPU", **kwargs) -> bool:
        return device.upper() == "CPU"

    @classmethod
    def prepare(cls, model, device: str = "CPU", **kwargs) -> CnnlabRep:
        if not cls.supports_device(device):
            raise ValueError(f"CnnlabBackend: device {device!r} is not supported (only CPU)")
        return CnnlabRep(load(model))

    @classmethod
    def run_model(cls, model, inputs, device: str = "CPU", **kwargs) -> tuple:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(cls, node, inputs, device: str = "CPU", outputs_info=None, **kwargs):
        raise NotImplementedError("CnnlabBackend runs whole models: use prepare(model)")

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device.upper() == "CPU"

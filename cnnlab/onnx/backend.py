"""cnnlab as an ONNX backend (:class:`onnx.backend.base.Backend`), so that ONNX's own
conformance runner (``onnx.backend.test.BackendTest``) runs its cases on cnnlab::

    import onnx.backend.test
    from cnnlab.onnx.backend import CnnlabBackend

    suite = onnx.backend.test.BackendTest(CnnlabBackend, __name__)

``CnnlabBackend.prepare(model)`` loads the graph with :func:`cnnlab.onnx.load` (graph inputs
that are not initializers stay inputs, weights included) and returns a :class:`CnnlabRep`
whose ``run(inputs)`` takes NumPy arrays and gives NumPy arrays back. This module needs
``onnx`` at import (unlike the rest of :mod:`cnnlab.onnx`).
"""

from __future__ import annotations

import numpy as np
from onnx.backend.base import Backend, BackendRep

import cnnlab
from cnnlab.autograd import Tensor, no_grad
from cnnlab.onnx.load import load
from cnnlab.onnx.narrow import is_narrow

__all__ = ["CnnlabBackend", "CnnlabRep"]


class CnnlabRep(BackendRep):
    """A loaded graph (``.model``, an :class:`~cnnlab.onnx.OnnxModel`) run on NumPy inputs,
    given in the graph's input order or as a dict by input name."""

    def __init__(self, model) -> None:
        self.model = model

    def run(self, inputs, **kwargs) -> tuple:
        names = self.model.input_names
        if isinstance(inputs, dict):
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f"CnnlabRep.run: inputs {missing} are missing")
            inputs = [inputs[n] for n in names]
        elif not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        # values of ONNX's narrow dtypes (float8 ...) stay arrays: only Cast reads them
        xs = [
            np.asarray(x) if is_narrow(np.asarray(x).dtype) else cnnlab.tensor(np.asarray(x))
            for x in inputs
        ]
        with no_grad():
            out = self.model(*xs)
        out = out if isinstance(out, tuple) else (out,)
        return tuple(o.numpy() if isinstance(o, Tensor) else np.asarray(o) for o in out)


class CnnlabBackend(Backend):
    """ONNX's backend interface over :func:`cnnlab.onnx.load`, on the CPU."""

    @classmethod
    def is_compatible(cls, model, device: str = "CPU", **kwargs) -> bool:
        return cls.supports_device(device)

    @classmethod
    def prepare(cls, model, device: str = "CPU", **kwargs) -> CnnlabRep:
        """Load ``model`` (a ``ModelProto``, a path or bytes); a graph cnnlab cannot run is
        refused here with one line naming its nodes, ops and attributes."""
        if not cls.supports_device(device):
            raise ValueError(f"CnnlabBackend: device {device!r} is not supported (only CPU)")
        return CnnlabRep(load(model))

    @classmethod
    def run_model(cls, model, inputs, device: str = "CPU", **kwargs) -> tuple:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return str(device).upper() == "CPU"

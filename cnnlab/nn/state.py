"""state_dict and load_state_dict: a module's parameters and buffers as named arrays.

Keys are the dotted attribute paths (``features.0.weight``, ``bn.running_mean``) in
PyTorch's order, so a torch state_dict of the same architecture loads key for key. A mixin
of :class:`cnnlab.nn.Module`.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from cnnlab import backend
from cnnlab.autograd import Tensor

__all__ = ["IncompatibleKeys", "StateDict", "StateDictError"]

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class StateDictError(RuntimeError, ValueError):
    """A state_dict that does not fit the model (PyTorch raises RuntimeError; so do we)."""


def _to_host_array(value) -> np.ndarray:
    """An array from a cnnlab Tensor, a torch tensor, a NumPy array or anything array-like."""
    if isinstance(value, Tensor):
        return value.numpy()
    if hasattr(value, "detach"):  # torch.Tensor (may require grad or live on a GPU)
        value = value.detach()
        if hasattr(value, "cpu"):
            value = value.cpu()
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        return np.asarray(value.numpy())
    return backend.to_numpy(value) if hasattr(value, "shape") else np.asarray(value)


class StateDict:
    """The state_dict half of :class:`cnnlab.nn.Module` (it provides ``_parameters``,
    ``_buffers``, ``_non_persistent_buffers``, ``_modules`` and ``_get_name``)."""

    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False):
        """OrderedDict of dotted name -> host NumPy copy (``keep_vars=True``: the Tensors)
        for every parameter and persistent buffer, in PyTorch's order and key names."""
        if destination is None:
            destination = OrderedDict()
        for name, t in self._parameters.items():
            if t is not None:
                destination[prefix + name] = t if keep_vars else backend.to_numpy(t.array).copy()
        for name, t in self._buffers.items():
            if t is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = t if keep_vars else backend.to_numpy(t.array).copy()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values into the existing parameters and buffers, in place, cast to their dtype.

        Values may be NumPy arrays, cnnlab Tensors or anything with ``.numpy()``/``__array__``
        (a torch state_dict loads key for key). Nothing is copied unless everything fits:
        a shape mismatch always raises; with ``strict`` so do missing or unexpected keys.
        Returns ``(missing_keys, unexpected_keys)``.
        """
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        arrays, mismatched = {}, []
        for k, t in own.items():
            if k not in state_dict:
                continue
            a = _to_host_array(state_dict[k])
            if a.shape != t.shape:
                mismatched.append(
                    f"size mismatch for {k}: copying a param with shape {tuple(a.shape)} from "
                    f"checkpoint, the shape in current model is {tuple(t.shape)}"
                )
            arrays[k] = a
        errors = []
        if strict and missing:
            errors.append("Missing key(s) in state_dict: " + ", ".join(map(repr, missing)) + ".")
        if strict and unexpected:
            errors.append(
                "Unexpected key(s) in state_dict: " + ", ".join(map(repr, unexpected)) + "."
            )
        errors += mismatched
        if errors:
            raise StateDictError(
                f"Error(s) in loading state_dict for {self._get_name()}:\n\t" + "\n\t".join(errors)
            )
        for k, a in arrays.items():
            t = own[k]
            xp = backend.get_array_module(t.array)
            t.array[...] = xp.asarray(a.astype(t.array.dtype, copy=False))
        return IncompatibleKeys(missing, unexpected)

"""Optimizer: parameter groups, per-parameter state and exact-resume ``state_dict``.

An optimiser holds a list of *parameter groups*, each a dict with ``'params'`` (a list of
Tensors) and its hyperparameters (``'lr'``, ...); keys a group leaves out are filled from the
optimiser's defaults. ``step()`` updates ``p.array`` in place from ``p.grad`` with no graph and
skips parameters whose ``grad`` is None, as in PyTorch.

``state_dict()`` follows PyTorch's layout, with parameters replaced by their index in the
order they appear across the groups::

    {"state": {0: {"step": 3.0, "exp_avg": ndarray, ...}, ...},
     "param_groups": [{"lr": 0.1, ..., "params": [0, 1]}, ...]}

Values are Python scalars, tuples/lists and NumPy arrays (copies), so the dict can be
written with JSON + ``.npz`` or safetensors and loaded back for an exact resume.
"""

from __future__ import annotations

import copy

import numpy as np

from cnnlab import backend
from cnnlab.autograd import Tensor, enable_grad

__all__ = ["Optimizer"]


class Optimizer:
    """Base class of the optimisers: subclasses implement :meth:`step`.

    Args:
        params: an iterable of Tensors, or of dicts ``{'params': [...], 'lr': ..., ...}``
            (one parameter group each).
        defaults: hyperparameter values for keys a group does not set.
    """

    def __init__(self, params, defaults: dict) -> None:
        self.defaults = dict(defaults)
        self.state: dict = {}  # Tensor -> dict of its running values (keyed by identity)
        self.param_groups: list[dict] = []
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params should be an iterable of Tensors or dicts, but got a Tensor; "
                "wrap it in a list"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{name} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyperparameters (e.g. a smaller ``lr``)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a param group must be a dict, got {type(param_group)}")
        params = param_group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{name}: parameters must be an ordered collection (a list), not a set: the "
                "order of a set changes between runs and state_dict indices depend on it"
            )
        elif params is None:
            raise ValueError(f"{name}: a param group needs a 'params' entry")
        params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name} can only optimize Tensors, but got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name} can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter group contains the same parameter twice")
        group = {"params": params}
        group.update((k, v) for k, v in param_group.items() if k != "params")
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict) -> None:
        """Raise ValueError for invalid hyperparameters (subclasses override)."""

    # ------------------------------------------------------------------ steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: to None (the default, as in PyTorch) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif getattr(getattr(p.grad.array, "flags", None), "writeable", True):
                    p.grad.array[...] = 0
                else:
                    p.grad = backend.get_array_module(p.grad.array).zeros_like(p.grad.array)

    def step(self, closure=None):  # pragma: no cover - abstract
        raise NotImplementedError

    def _init_state(self, p: Tensor, group: dict) -> dict | None:
        """A parameter's running values before its first update (subclasses override);
        None where the optimiser keeps nothing for it (SGD without momentum)."""
        return {}

    def _gradients(self, group: dict):
        """Each parameter of ``group`` that has a gradient, as ``(p, g, state)``.

        ``g`` is the gradient's array, negated under ``maximize``, plus ``weight_decay * p``
        (L2 through the gradient), except where the group asks for decoupled decay: then the
        weights shrink here, ``p *= 1 - lr * weight_decay``, and ``g`` is left alone (AdamW).
        ``state`` is the parameter's dict of running values, made by :meth:`_init_state` on
        the first update. Every optimiser's ``step`` starts from this loop.
        """
        weight_decay = float(group.get("weight_decay", 0.0))
        for p in group["params"]:
            if p.grad is None:
                continue
            g = -p.grad.array if group.get("maximize") else p.grad.array
            state = self.state.get(p)
            if not state:
                state = self._init_state(p, group)
                if state is not None:  # None: this optimiser keeps nothing for p
                    self.state[p] = state
            if weight_decay != 0:
                if group.get("decoupled_weight_decay"):
                    p.array *= 1 - float(group["lr"]) * weight_decay
                else:
                    g = g + weight_decay * p.array
            yield p, g, state

    @staticmethod
    def _run_closure(closure):
        """``closure()`` re-evaluates the model and returns the loss (LBFGS-style API)."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # ------------------------------------------------------------ state dicts
    def state_dict(self) -> dict:
        """The optimiser's state and hyperparameters, parameters replaced by indices.

        Arrays are copied to NumPy, so later steps don't change a saved dict.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {k: _export(v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` returned, for parameters in the same order."""
        name = type(self).__name__
        saved_groups = state_dict.get("param_groups")
        if saved_groups is None or "state" not in state_dict:
            raise ValueError(
                f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups', "
                f"got keys {sorted(state_dict)}"
            )
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the state dict has {len(saved_groups)} parameter "
                f"groups but this optimizer has {len(self.param_groups)}"
            )
        id_map = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: parameter group {i} has {len(saved['params'])} "
                    f"parameters in the state dict but {len(group['params'])} in this optimizer"
                )
            id_map.update(zip((int(k) for k in saved["params"]), group["params"]))
        state = {}
        for key, values in state_dict["state"].items():
            if int(key) not in id_map:
                raise ValueError(
                    f"{name}.load_state_dict: state for parameter index {key}, which no "
                    f"parameter group lists (known indices: {sorted(id_map)})"
                )
            p = id_map[int(key)]
            state[p] = {k: _import(v, p, k, name, key) for k, v in values.items()}
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new = {"params": group["params"]}
            new.update((k, copy.deepcopy(v)) for k, v in saved.items() if k != "params")
            for k, v in self.defaults.items():
                new.setdefault(k, v)
            new_groups.append(new)
        self.state = state
        self.param_groups = new_groups

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines + [")"])


def _export(value):
    """A NumPy copy of an array state value; scalars unchanged."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return np.array(backend.to_numpy(value), copy=True)
    return copy.deepcopy(value)


def _import(value, p: Tensor, key: str, name: str, index):
    """A state value moved to ``p``'s backend and dtype (shapes checked)."""
    if not (hasattr(value, "shape") and hasattr(value, "dtype")) or value.ndim == 0:
        return value.item() if hasattr(value, "item") else copy.deepcopy(value)
    if tuple(value.shape) != tuple(p.shape):
        raise ValueError(
            f"{name}.load_state_dict: state '{key}' of parameter {index} has shape "
            f"{tuple(value.shape)} but the parameter has shape {tuple(p.shape)}"
        )
    xp = backend.get_array_module(p.array)
    return xp.array(value, dtype=p.dtype, copy=True)


def check_range(optimizer: str, group: dict, key: str, low: float = 0.0, high=None) -> None:
    """Raise ValueError naming the optimiser unless ``low <= group[key]`` (and ``< high``)."""
    value = group[key]
    if not low <= value or (high is not None and not value < high):
        expected = f">= {low}" if high is None else f"in [{low}, {high})"
        raise ValueError(f"{optimizer}: invalid {key} value: {value} (expected {expected})")


def check_betas(optimizer: str, group: dict) -> None:
    """Raise ValueError naming the optimiser unless ``group['betas']`` is a pair in [0, 1)."""
    betas = group["betas"]
    if len(betas) != 2:
        raise ValueError(f"{optimizer}: betas must be a pair (beta1, beta2), got {betas}")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(
                f"{optimizer}: invalid beta parameter at index {i}: {beta} (expected in [0, 1))"
            )

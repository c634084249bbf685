"""Module: the base class of layers and models (parameters, buffers, children, hooks; the
state_dict half is cnnlab/nn/state.py).

Names and behaviour follow PyTorch's ``torch.nn.Module`` so that code and weights move across:
attributes that are :class:`Parameter` or ``Module`` register themselves, ``state_dict`` keys are
the dotted attribute paths (``features.0.weight``, ``bn.running_mean``), and a torch state_dict of
the same architecture loads key for key.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator

import numpy as np

from cnnlab import backend, devices
from cnnlab.autograd import Tensor
from cnnlab.memory_format import as_format, is_format
from cnnlab.nn.parameter import Parameter
from cnnlab.nn.state import StateDict, StateDictError

__all__ = ["Module", "RemovableHandle", "StateDictError"]


class RemovableHandle:
    """Returned by ``register_forward_hook``: ``handle.remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict) -> None:
        self._hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def _addindent(s: str, n: int) -> str:
    first, *rest = s.split("\n")
    return "\n".join([first] + [" " * n + ln for ln in rest])


class Module(StateDict):
    """Base class of every layer and model: subclass it, assign layers and parameters in
    ``__init__`` (after ``super().__init__()``) and write ``forward``; call the module to run it.
    """

    training: bool

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    # ---------------------------------------------------------------- registration
    def _check_init(self, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        self._check_init("parameters")
        if "." in name or name == "":
            raise KeyError(f"parameter name can't contain '.' or be empty, got {name!r}")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign {type(param).__name__} as parameter {name!r} "
                "(cnnlab.nn.Parameter or None required)"
            )
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute {name!r} already exists")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A non-learnable tensor saved in ``state_dict`` (unless ``persistent=False``)."""
        self._check_init("buffers")
        if "." in name or name == "":
            raise KeyError(f"buffer name can't contain '.' or be empty, got {name!r}")
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(tensor)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute {name!r} already exists")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        self._check_init("child modules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if "." in name or name == "":
            raise KeyError(f"module name can't contain '.' or be empty, got {name!r}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute {name!r} already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__

        def remove_from(*dicts):
            for dd in dicts:
                if name in dd:
                    del dd[name]

        params = d.get("_parameters")
        if isinstance(value, Parameter):
            self._check_init("parameters")
            remove_from(d, d["_buffers"], d["_modules"])
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter {name!r} "
                    "(cnnlab.nn.Parameter or None required)"
                )
            params[name] = None
        elif isinstance(value, Module):
            self._check_init("child modules")
            remove_from(d, d["_parameters"], d["_buffers"])
            d["_modules"][name] = value
        elif "_modules" in d and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r}")
            d["_modules"][name] = None
        elif "_buffers" in d and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r}")
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        d = self.__dict__  # never self.<x> here: copy/pickle call this before __init__ ran
        for key in ("_parameters", "_buffers", "_modules"):
            store = d.get(key)
            if store is not None and name in store:
                return store[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for key in ("_parameters", "_buffers", "_modules"):
            store = self.__dict__.get(key)
            if store is not None and name in store:
                del store[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = list(super().__dir__())
        return sorted(
            set(keys + list(self._parameters) + list(self._buffers) + list(self._modules))
        )

    # ------------------------------------------------------------------ traversal
    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ):
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from m.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(
        self, get_members, prefix: str, recurse: bool, remove_duplicate: bool = True
    ):
        memo = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, m in mods:
            for k, v in get_members(m):
                if v is None or (remove_duplicate and id(v) in memo):
                    continue
                memo.add(id(v))
                yield mod_prefix + ("." if mod_prefix else "") + k, v

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ):
        """``(dotted name, Parameter)`` pairs; a parameter shared by two layers appears once."""
        return self._named_members(
            lambda m: m._parameters.items(), prefix, recurse, remove_duplicate
        )

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """``model.get_submodule('features.0')``; ``''`` is the model itself."""
        mod = self
        for item in target.split(".") if target else []:
            child = mod._modules.get(item)
            if child is None:
                raise AttributeError(f"{mod._get_name()} has no submodule {item!r} (in {target!r})")
            mod = child
        return mod

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Total number of parameter elements (shared parameters counted once)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # ---------------------------------------------------------------- modes, grads
    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):
            raise ValueError(f"training mode must be a bool, got {mode!r}")
        for m in self.modules():
            # a part frozen by nn.utils.freeze(..., bn_eval=True) stays in eval mode
            m.__dict__["training"] = mode and not m.__dict__.get("_frozen_eval", False)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def fuse(self) -> Module:
        """Fold each batch norm into the convolution before it, for inference (in place;
        the model must be in eval mode): see :mod:`cnnlab.nn.fusion`. Returns ``self``."""
        from cnnlab.nn.fusion import fuse

        return fuse(self)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:  # zeros, not grad * 0 (which keeps inf and nan as nan)
                p.grad = backend.get_array_module(p.grad.array).zeros_like(p.grad.array)

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------- dtype, device
    def _convert(self, fn) -> Module:
        """Apply ``fn(array) -> array`` to every parameter, gradient and buffer, in place (the
        Parameter objects stay the same, so optimisers holding them keep working)."""
        for m in self.modules():
            for store in (m._parameters, m._buffers):
                for t in store.values():
                    if t is None:
                        continue
                    t.array = fn(t.array)
                    if t.grad is not None:
                        t.grad = fn(t.grad.array)
        return self

    def to(
        self, *args, dtype=None, device=None, non_blocking: bool = False, memory_format=None
    ) -> Module:
        """``to(np.float64)``, ``to('cuda')``, ``to(cnnlab.device('cpu'))``, ``to(device,
        dtype)`` or ``to(device=..., dtype=...)``; converts in place and returns self. Only
        floating tensors change dtype. ``non_blocking`` is accepted (copies are synchronous).
        ``memory_format=cnnlab.channels_last`` lays every 4-D parameter and buffer out
        channels last (the same values; see cnnlab.memory_format), as PyTorch."""
        dtype, device = devices.split_to_args("Module.to", args, dtype, device)
        if dtype is not None:
            if dtype.kind != "f":
                raise ValueError(f"Module.to: dtype must be floating, got {dtype}")
            self._convert(lambda a: a.astype(dtype, copy=False) if a.dtype.kind == "f" else a)
        if device is not None:
            self._convert(lambda a: backend.to_device(a, device))
        if memory_format is not None:
            is_format(np.empty(0), memory_format, "Module.to")  # a clear error for a bad one
            self._convert(lambda a: as_format(a, memory_format) if a.ndim == 4 else a)
        return self

    def double(self) -> Module:
        return self.to(np.float64)

    def float(self) -> Module:
        return self.to(np.float32)

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self) -> Module:
        return self.to("cuda")

    # --------------------------------------------------------------------- hooks
    def register_forward_hook(self, hook) -> RemovableHandle:
        """``hook(module, inputs, output)`` runs after ``forward``; a non-None return value
        replaces the output. Use it to capture feature maps."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, inputs)`` runs before ``forward``; a non-None return value replaces
        the inputs (a non-tuple is wrapped in a tuple)."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def __call__(self, *args, **kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            r = hook(self, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            r = hook(self, args, out)
            if r is not None:
                out = r
        return out

    # ---------------------------------------------------------------------- repr
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """One line of configuration shown inside ``repr`` (override in layers)."""
        return ""

    def _describe(self) -> str:
        """``Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1))``: names a layer in errors."""
        return f"{self._get_name()}({self.extra_repr()})"

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({k}): " + _addindent(repr(m), 2) for k, m in self._modules.items()]
        lines = extra_lines + child_lines
        s = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                s += extra_lines[0]
            else:
                s += "\n  " + "\n  ".join(lines) + "\n"
        return s + ")"

"""Which backend runs one kernel call, and why: the choice (:class:`set_kernels`,
``CNNLAB_KERNELS``), the backends loaded on first use, and :func:`info`.

:func:`backend_for` judges a call by its own arguments: the arrays' module (NumPy or CuPy)
and dtype, the user's choice, and for float32 NumPy arrays oneDNN's ``supports(name, *args,
**kwargs)``, asked about exactly the call that will run (its bias, its arrays' layouts, its
post-ops, max pooling's indices). oneDNN builds and caches the plan while it answers, so
the call that follows pays nothing more. Nothing is decided at import time.
"""

from __future__ import annotations

import importlib
import os
import threading
from types import SimpleNamespace

import numpy as np

from cnnlab.backend import get_array_module
from cnnlab.kernels import allocator

__all__ = ["CHOICES", "FUNCTIONS", "OPS", "backend_for", "get_kernels", "info", "set_kernels"]

# the function set every backend provides (same names, same keyword-only arguments), and
# the op each belongs to (what info() reports on)
FUNCTIONS = {
    "conv2d_forward": "conv2d",
    "conv2d_backward_data": "conv2d",
    "conv2d_backward_weights": "conv2d",
    "batch_norm_train_forward": "batch_norm",
    "batch_norm_inference": "batch_norm",
    "batch_norm_backward": "batch_norm",
    "batch_norm_inference_backward": "batch_norm",
    "max_pool2d_forward": "max_pool2d",
    "max_pool2d_inference": "max_pool2d",
    "max_pool2d_backward": "max_pool2d",
    "avg_pool2d_forward": "avg_pool2d",
    "avg_pool2d_backward": "avg_pool2d",
    "relu_forward": "relu",
    "relu_backward": "relu",
    "hardtanh_forward": "hardtanh",
    "hardtanh_backward": "hardtanh",
    "add": "add",
    "contiguous": "contiguous",
    "matmul": "matmul",
}
OPS = (
    "conv2d",
    "batch_norm",
    "max_pool2d",
    "avg_pool2d",
    "relu",
    "hardtanh",
    "add",
    "contiguous",
    "matmul",
)
CHOICES = ("auto", "onednn", "numpy", "reference")
_ENV = "CNNLAB_KERNELS"
_F32 = np.dtype(np.float32)


class _State:
    def __init__(self) -> None:
        self.choice: str | None = None  # None: read CNNLAB_KERNELS at first use
        self.backends: dict = {}  # name -> namespace of its functions
        self.onednn = None  # the loaded module, False where it does not load
        self.onednn_reason = ""
        self.last: dict = {}  # (op, dtype) -> (backend name, why), for info()
        self.lock = threading.Lock()


_state = _State()


def _check_choice(name) -> str:
    if name not in CHOICES:
        raise ValueError(f"set_kernels: expected one of {', '.join(CHOICES)}, got {name!r}")
    return name


def get_kernels() -> str:
    """The current choice: ``"auto"``, ``"onednn"``, ``"numpy"`` or ``"reference"``."""
    if _state.choice is None:
        env = os.environ.get(_ENV, "").strip().lower() or "auto"
        if env not in CHOICES:
            raise ValueError(f"{_ENV}: expected one of {', '.join(CHOICES)}, got {env!r}")
        if env == "onednn":
            _require_onednn(f"{_ENV}=onednn")
        _state.choice = env
    return _state.choice


class set_kernels:  # noqa: N801 - a function to the user; a class so `with` restores
    """Choose the kernels: ``"auto"`` (the default), ``"onednn"``, ``"numpy"`` or
    ``"reference"``. Takes effect at once, for every later call; used as ``with
    cnnlab.set_kernels("reference"): ...`` it restores the previous choice on exit.

    ``"onednn"`` raises (with the reason) where oneDNN does not load; calls it cannot run
    (float64, CuPy arrays, configurations it does not support) still go to ``numpy``.
    ``"numpy"`` and ``"reference"`` apply to NumPy arrays; CuPy arrays always run the
    reference kernels on the GPU.
    """

    def __init__(self, name: str) -> None:
        _check_choice(name)
        if name == "onednn":
            _require_onednn('set_kernels("onednn")')
        self.prev = _state.choice
        _state.choice = name

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state.choice = self.prev
        return False


# --------------------------------------------------------------------------- the backends
def _complete(name: str, module) -> SimpleNamespace:
    """The backend's functions in a namespace; a missing one is an error naming it."""
    fns = {f: getattr(module, f, None) for f in FUNCTIONS}
    if fns["max_pool2d_inference"] is None:  # optional: the forward that keeps no state
        forward = module.max_pool2d_forward
        fns["max_pool2d_inference"] = lambda x, **kw: forward(x, **kw)[0]
    missing = [f for f, fn in fns.items() if not callable(fn)]
    if missing:
        raise ImportError(f"kernels: backend {name!r} lacks {', '.join(missing)}")
    # whether its conv2d_forward applies a post-op chain itself (post=, addend=)
    post_ops = bool(getattr(module, "POST_OPS", False))
    return SimpleNamespace(name=name, module=module, post_ops=post_ops, **fns)


def backend(name: str) -> SimpleNamespace:
    """The backend ``name`` (``reference``, ``numpy``, ``cupy``, ``onednn``), loaded once."""
    b = _state.backends.get(name)
    if b is None:
        if name == "onednn":
            _require_onednn("kernels")
            return _state.backends["onednn"]
        path = {
            "reference": "cnnlab.kernels.reference",
            "numpy": "cnnlab.kernels.numpy_fast",
            "cupy": "cnnlab.kernels.cupy",
        }[name]
        b = _state.backends[name] = _complete(name, importlib.import_module(path))
        allocator.tune()
    return b


def onednn_module():
    """The oneDNN module where it imports and loads, else None (the reason is kept)."""
    if _state.onednn is None:
        with _state.lock:
            if _state.onednn is None:
                try:
                    mod = importlib.import_module("cnnlab.kernels.onednn")
                    ok = mod.available()
                except Exception as e:  # absent, or a library that fails to load
                    _state.onednn, _state.onednn_reason = False, f"not importable ({e})"
                else:
                    if ok:
                        allocator.tune()
                        _state.backends["onednn"] = _complete("onednn", mod)
                        _state.onednn = mod
                    else:
                        _state.onednn, _state.onednn_reason = False, mod.why_unavailable()
    return _state.onednn or None


def _require_onednn(what: str) -> None:
    if onednn_module() is None:
        raise RuntimeError(f"{what}: oneDNN is not available: {_state.onednn_reason}")


def _record(name: str, dtype, backend_name: str, why: str) -> SimpleNamespace:
    _state.last[(FUNCTIONS[name], dtype)] = (backend_name, why)
    return backend(backend_name)


def backend_for(name: str, args: tuple, kwargs: dict) -> SimpleNamespace:
    """The backend to run the kernel function ``name`` (one of :data:`FUNCTIONS`) on these
    positional and keyword arguments: the first array decides NumPy or CuPy; for float32
    NumPy arrays under ``auto``/``onednn``, oneDNN where its ``supports`` accepts this very
    call, else the ``numpy`` backend."""
    first = next((a for a in args if hasattr(a, "dtype")), None)
    if first is None:  # Python numbers only (an add of two scalars)
        return _record(name, np.dtype(float), "numpy", "no array among the arguments")
    dtype = first.dtype
    if type(first) is not np.ndarray and get_array_module(first) is not np:
        return _record(name, dtype, "cupy", "CuPy arrays: the reference kernels on the GPU")
    choice = _state.choice or get_kernels()
    if choice in ("reference", "numpy"):
        return _record(name, dtype, choice, f'set_kernels("{choice}")')
    why = _onednn_refusal(name, args, kwargs)
    if why is None:
        return _record(name, dtype, "onednn", f"{choice}: float32, oneDNN supports the call")
    return _record(name, dtype, "numpy", f"{choice}: {why}")


def _onednn_refusal(name: str, args: tuple, kwargs: dict) -> str | None:
    """Why oneDNN cannot run this call, or None where it can."""
    for a in args:
        if hasattr(a, "dtype") and a.dtype != _F32:
            return "not float32 (oneDNN runs float32 only)"
    mod = _state.onednn if _state.onednn is not None else onednn_module()
    if not mod:
        return f"oneDNN not available: {_state.onednn_reason}"
    try:
        ok = mod.supports(name, *args, **kwargs)
    except Exception as e:  # a call it does not understand: run the NumPy kernels
        return f"oneDNN.supports raised {type(e).__name__}: {e}"
    return None if ok else "oneDNN does not support this call"


# --------------------------------------------------------------------------------- info
def info() -> dict:
    """What runs now and why: for each op and for float32 and float64 NumPy arrays, the
    backend ``auto``/the current choice gives a typical call, plus what the last calls
    actually used (``"last"``: ``{"op/dtype": {"backend", "why"}}``) and oneDNN's own
    ``info()`` (version, ISA) where it loads.

    A typical call is a plain one (no feature only NumPy has); a configuration oneDNN turns
    down still goes to ``numpy``, which ``"last"`` shows.
    """
    choice = get_kernels()
    mod = onednn_module()
    ops = {}
    for op in OPS:
        for dt in (np.float32, np.float64):
            if choice in ("numpy", "reference"):
                name, why = choice, f'set_kernels("{choice}")'
            else:
                why = None
                if dt != np.float32:
                    why = "not float32 (oneDNN runs float32 only)"
                elif mod is None:
                    why = f"oneDNN not available: {_state.onednn_reason}"
                name, why = ("onednn", "float32, oneDNN loads") if why is None else ("numpy", why)
            ops[f"{op}/{np.dtype(dt).name}"] = {"backend": name, "why": why}
    last, why_not = list(_state.last.items()), _state.onednn_reason
    return {
        "choice": choice,
        "ops": ops,
        "last": {f"{op}/{dt.name}": {"backend": b, "why": w} for (op, dt), (b, w) in last},
        "onednn": mod.info() if mod is not None else {"available": False, "why": why_not},
        "malloc": allocator.status(),
        "cupy": "CuPy arrays run the reference kernels (cuDNN not wired: untested without a GPU)",
    }


def summary() -> str:
    """:func:`info` as a few lines of text, for a terminal."""
    d = info()
    lines = [f"kernels: {d['choice']}"]
    for key, v in d["ops"].items():
        lines.append(f"  {key:<20} {v['backend']:<10} ({v['why']})")
    if d["last"]:
        lines.append("  last calls:")
        for key, v in sorted(d["last"].items()):
            lines.append(f"    {key:<18} {v['backend']:<10} ({v['why']})")
    lines.append(f"  onednn: {d['onednn']}")
    lines.append(f"  malloc: {d['malloc']}")
    return "\n".join(lines)

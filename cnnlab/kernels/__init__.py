"""The kernel layer: which implementation of a heavy op runs, chosen per call.

The ops (:mod:`cnnlab.ops.conv`, ``pool``, ``norm``, ``activation``) hold the contract: the
argument checks, the shapes and the derivation of each gradient. The arithmetic of their
heavy parts lives in *backends*, modules with one and the same set of functions
(:data:`FUNCTIONS`) on raw arrays:

- ``reference`` (:mod:`cnnlab.kernels.reference`): the textbook NumPy version, im2col + one
  GEMM, col2im, pooling by windows, batch norm by its formulas. Written with
  ``xp = get_array_module(x)``, so it runs on CuPy arrays too.
- ``numpy`` (:mod:`cnnlab.kernels.numpy_fast`): the cache-blocked, threaded NumPy engine.
- ``onednn`` (:mod:`cnnlab.kernels.onednn`, when it is installed and loads): oneDNN's JIT
  kernels through ctypes, float32 only.
- ``cupy``: CuPy arrays run the reference kernels on the GPU (cuDNN is not wired in: no
  GPU was available to test it).

An op asks :func:`pick` for a backend with the arrays it is about to pass::

    k = kernels.pick("conv2d", x, w, x_shape=x.shape, w_shape=w.shape, stride=..., ...)
    y = k.conv2d_forward(x, w, b, stride=..., padding=..., dilation=..., groups=...)

The choice depends on the arrays (NumPy or CuPy, float32 or not), on what is installed and
on :func:`set_kernels` (``"auto"`` by default, or ``CNNLAB_KERNELS`` read at first use):
``auto`` prefers oneDNN for float32 NumPy arrays where it loads and says it supports the
call, else the ``numpy`` backend (float64 always goes there: oneDNN has no float64
convolution). Nothing is decided at import time. :func:`info` says what runs now and why.

For a backend's author: a backend is a module with the functions of :data:`FUNCTIONS`
(NCHW/OIHW arrays, padding as (top, bottom, left, right), PyTorch's dilation); optionally
``max_pool2d_inference`` (the maxima without the state; else ``max_pool2d_forward(...)[0]``
is used). oneDNN's module also has ``available()``, ``why_unavailable()``, ``info()`` and
``supports(op, **config)``, called with these ``config`` keys:

- ``"conv2d"``: ``x_shape, w_shape, stride, padding, dilation, groups`` (for
  conv_transpose2d, ``x_shape`` is the shape of the conv whose input gradient it is);
- ``"batch_norm"``: ``x_shape`` (4-D), ``training``;
- ``"max_pool2d"``: ``x_shape, kernel, stride, padding, dilation, ceil_mode``;
- ``"avg_pool2d"``: ``x_shape, kernel, stride, padding, ceil_mode, count_include_pad``;
- ``"relu"``: ``x_shape``; ``"hardtanh"``: ``x_shape, min_val, max_val``.

oneDNN's functions also take images in its channel-blocked layout
(:class:`cnnlab.kernels.onednn.blocked.Blocked`) and, asked with ``blocked=True``, return
them (the namespace's ``keeps_layout`` is True): ops marked ``Function.keeps_layout`` pass
such images on to each other without reordering to NCHW; :mod:`cnnlab.kernels.layout` has
the helpers, and anything else sees NCHW arrays. A call whose first array is blocked goes to
oneDNN (only it makes them).

The backend chosen at forward is kept for that op's backward (max pooling's state is the
backend's own); ReLU's backward picks again. Arrays may arrive non-contiguous (a gradient
broadcast from ``sum()``): a backend that needs C order makes them so.
"""

from __future__ import annotations

import importlib
import os
import threading
from types import SimpleNamespace

import numpy as np

from cnnlab.backend import get_array_module
from cnnlab.kernels import allocator, layout

__all__ = ["FUNCTIONS", "OPS", "get_kernels", "info", "pick", "set_kernels", "summary"]

# the function set every backend provides (same names, same keyword-only arguments)
FUNCTIONS = (
    "conv2d_forward",
    "conv2d_backward_data",
    "conv2d_backward_weights",
    "batch_norm_train_forward",
    "batch_norm_inference",
    "batch_norm_backward",
    "batch_norm_inference_backward",
    "max_pool2d_forward",
    "max_pool2d_backward",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
    "relu_forward",
    "relu_backward",
    "hardtanh_forward",
    "hardtanh_backward",
)
# the ops that ask for a backend: pick(op, ...)
OPS = ("conv2d", "batch_norm", "max_pool2d", "avg_pool2d", "relu", "hardtanh")
CHOICES = ("auto", "onednn", "numpy", "reference")
_ENV = "CNNLAB_KERNELS"


class _State:
    def __init__(self) -> None:
        self.choice: str | None = None  # None: read CNNLAB_KERNELS at first use
        self.backends: dict = {}  # name -> namespace of its functions
        self.onednn = None  # the loaded module, False where it does not load
        self.onednn_reason = ""
        self.last: dict = {}  # (op, dtype name) -> (backend name, why), for info()
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
    missing = [f for f in FUNCTIONS if not callable(getattr(module, f, None))]
    if missing:
        raise ImportError(f"kernels: backend {name!r} lacks {', '.join(missing)}")
    fns = {f: getattr(module, f) for f in FUNCTIONS}
    # optional: the forward that keeps no state, for inference
    inference = getattr(module, "max_pool2d_inference", None)
    if inference is None:
        forward = module.max_pool2d_forward
        inference = lambda x, **kw: forward(x, **kw)[0]  # noqa: E731
    fns["max_pool2d_inference"] = inference
    # whether its functions take blocked images and, asked with blocked=True, return them
    keeps = bool(getattr(module, "KEEPS_LAYOUT", False))
    return SimpleNamespace(name=name, module=module, keeps_layout=keeps, **fns)


def _backend(name: str) -> SimpleNamespace:
    b = _state.backends.get(name)
    if b is None:
        path = {
            "reference": "cnnlab.kernels.reference",
            "numpy": "cnnlab.kernels.numpy_fast",
            "cupy": "cnnlab.kernels.cupy",
        }[name]
        b = _state.backends[name] = _complete(name, importlib.import_module(path))
        allocator.tune()
    return b


def _onednn():
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
    if _onednn() is None:
        raise RuntimeError(f"{what}: oneDNN is not available: {_state.onednn_reason}")


def _record(op: str, dtype, name: str, why: str):
    _state.last[(op, dtype)] = (name, why)
    b = _state.backends.get(name)
    return b if b is not None else _backend(name)


_F32 = np.dtype(np.float32)


def pick(op: str, *arrays, numpy_only: bool = False, **config) -> SimpleNamespace:
    """The backend to run ``op`` (one of :data:`OPS`) on ``arrays`` (the first one not None).

    ``config`` describes the call (shapes and the op's keyword arguments, e.g. ``x_shape``,
    ``w_shape``, ``stride``, ``padding``, ``dilation``, ``groups`` for conv2d); oneDNN's
    ``supports(op, **config)`` judges it. ``numpy_only`` asks for a NumPy backend (reference
    or numpy) for features only they have (max pooling's indices, a divisor override).
    Returns a namespace with the functions of :data:`FUNCTIONS`.
    """
    dtype = arrays[0].dtype
    if type(arrays[0]) is not np.ndarray and get_array_module(*arrays) is not np:
        return _record(op, dtype, "cupy", "CuPy arrays: the reference kernels on the GPU")
    choice = _state.choice or get_kernels()
    if choice == "reference":
        return _record(op, dtype, "reference", 'set_kernels("reference")')
    if choice == "numpy":
        return _record(op, dtype, "numpy", 'set_kernels("numpy")')
    if not numpy_only and layout.is_blocked(arrays[0]):
        # only oneDNN makes these, and its kernels take them without a reorder
        return _record(op, dtype, "onednn", f"{choice}: an image in oneDNN's blocked layout")
    why = _onednn_refusal(op, arrays, numpy_only, config)
    if why is None:
        return _record(op, dtype, "onednn", f"{choice}: float32, oneDNN supports the call")
    return _record(op, dtype, "numpy", f"{choice}: {why}")


def _onednn_refusal(op, arrays, numpy_only, config) -> str | None:
    """Why oneDNN cannot run this call, or None where it can."""
    if numpy_only:
        return "a feature only the NumPy kernels have"
    for a in arrays:
        if a is not None and a.dtype != _F32:
            return "not float32 (oneDNN runs float32 only)"
    mod = _state.onednn if _state.onednn is not None else _onednn()
    if not mod:
        return f"oneDNN not available: {_state.onednn_reason}"
    try:
        ok = _onednn_supports(mod, op, config)
    except Exception as e:  # a config it does not understand: run the NumPy kernels
        return f"oneDNN.supports raised {type(e).__name__}: {e}"
    return None if ok else "oneDNN does not support this configuration"


class _Spec:
    """What oneDNN's ``supports`` reads of an array (its shape), without making one."""

    dtype = _F32

    def __init__(self, shape) -> None:
        self.shape = tuple(int(v) for v in shape)
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape))


def _onednn_supports(mod, op: str, config: dict) -> bool:
    """Ask oneDNN's ``supports`` (which judges one of its functions on that function's own
    arguments) about the op family ``op`` described by ``config`` (shapes and keywords)."""
    config = dict(config)
    x = _Spec(config.pop("x_shape"))
    if op == "conv2d":
        w = _Spec(config.pop("w_shape"))
        return mod.supports("conv2d_forward", x, w, None, **config)
    if op == "batch_norm":
        if config.get("training", True):
            return mod.supports("batch_norm_train_forward", x, None, None)
        return mod.supports("batch_norm_inference", x, None, None, None, None)
    if op in ("max_pool2d", "avg_pool2d", "relu", "hardtanh"):
        return mod.supports(f"{op}_forward", x, **config)
    raise ValueError(f"kernels: no oneDNN mapping for op {op!r}")


# --------------------------------------------------------------------------------- info
def info() -> dict:
    """What runs now and why: for each op and for float32 and float64 NumPy arrays, the
    backend ``auto``/the current choice gives a typical call, plus what the last calls
    actually used (``"last"``: ``{(op, dtype): (backend, why)}``) and oneDNN's own
    ``info()`` (version, ISA) where it loads.

    A typical call is a plain one (no feature only NumPy has); a configuration oneDNN turns
    down still goes to ``numpy``, which ``"last"`` shows.
    """
    choice = get_kernels()
    mod = _onednn()
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
    out = {
        "choice": choice,
        "ops": ops,
        "last": {f"{op}/{dt.name}": {"backend": b, "why": w} for (op, dt), (b, w) in last},
        "onednn": mod.info() if mod is not None else {"available": False, "why": why_not},
        "malloc": allocator.status(),
        "cupy": "CuPy arrays run the reference kernels (cuDNN not wired: untested without a GPU)",
    }
    return out


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

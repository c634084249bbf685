"""Loading oneDNN's shared library (the PyPI wheel ``onednn-cpu-gomp==2023.2.0``, oneDNN 3.2
built on GNU OpenMP) and declaring the C functions cnnlab calls through ctypes.

Nothing here is compiled: the prototypes below mirror oneDNN v3.2's ``dnnl.h``, and
``constants.py`` holds the enum values of ``dnnl_types.h``. ``load()`` returns the library
or None, and ``why_unavailable()`` says why it is None.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
from ctypes import POINTER, c_char_p, c_float, c_int, c_int64, c_size_t, c_uint, c_void_p
from pathlib import Path

from cnnlab.kernels.onednn import constants as k

__all__ = [
    "Dims",
    "ExecArg",
    "OneDNNError",
    "avx512",
    "check",
    "load",
    "require",
    "wait_policy",
    "why_unavailable",
]

WHEEL = "onednn-cpu-gomp==2023.2.0"
Dims = c_int64 * k.MAX_NDIMS


class ExecArg(ctypes.Structure):
    """``dnnl_exec_arg_t``: which argument of a primitive a memory object is."""

    _fields_ = [("arg", c_int), ("memory", c_void_p)]


class Version(ctypes.Structure):
    _fields_ = [
        ("major", c_int),
        ("minor", c_int),
        ("patch", c_int),
        ("hash", c_char_p),
        ("cpu_runtime", c_uint),
        ("gpu_runtime", c_uint),
    ]


class OneDNNError(RuntimeError):
    """A oneDNN call returned an error status."""


_STATUS = {
    k.SUCCESS: "success",
    k.OUT_OF_MEMORY: "out of memory",
    k.INVALID_ARGUMENTS: "invalid arguments",
    k.UNIMPLEMENTED: "unimplemented (no implementation for this configuration)",
    k.LAST_IMPL_REACHED: "last implementation reached",
    k.RUNTIME_ERROR: "runtime error",
    k.NOT_REQUIRED: "not required",
}


def check(status: int, what: str) -> None:
    """Raise :class:`OneDNNError` naming ``what`` (the call, the primitive and its shapes)."""
    if status != k.SUCCESS:
        raise OneDNNError(f"oneDNN: {what} failed: {_STATUS.get(status, f'status {status}')}")


P = c_void_p  # every oneDNN handle (engine, stream, memory, descriptors, primitives) is opaque
PP = POINTER(c_void_p)
_PROTOTYPES = {
    "dnnl_version": (POINTER(Version), []),
    "dnnl_get_effective_cpu_isa": (c_int, []),
    "dnnl_engine_create": (c_int, [PP, c_int, c_size_t]),
    "dnnl_stream_create": (c_int, [PP, P, c_uint]),
    "dnnl_stream_wait": (c_int, [P]),
    "dnnl_memory_desc_create_with_tag": (c_int, [PP, c_int, Dims, c_int, c_int]),
    "dnnl_memory_desc_destroy": (c_int, [P]),
    "dnnl_memory_desc_get_size": (c_size_t, [P]),
    "dnnl_memory_desc_equal": (c_int, [P, P]),
    "dnnl_memory_create": (c_int, [PP, P, P, P]),
    "dnnl_memory_set_data_handle": (c_int, [P, P]),
    "dnnl_memory_destroy": (c_int, [P]),
    "dnnl_primitive_attr_create": (c_int, [PP]),
    "dnnl_primitive_attr_destroy": (c_int, [P]),
    "dnnl_primitive_attr_set_scratchpad_mode": (c_int, [P, c_int]),
    "dnnl_primitive_desc_query_md": (P, [P, c_int, c_int]),
    "dnnl_primitive_desc_query": (c_int, [P, c_int, c_int, P]),
    "dnnl_primitive_desc_destroy": (c_int, [P]),
    "dnnl_primitive_create": (c_int, [PP, P]),
    "dnnl_primitive_execute": (c_int, [P, P, c_int, POINTER(ExecArg)]),
    "dnnl_primitive_destroy": (c_int, [P]),
    "dnnl_reorder_primitive_desc_create": (c_int, [PP, P, P, P, P, P]),
    "dnnl_primitive_attr_set_post_ops": (c_int, [P, P]),
    "dnnl_post_ops_create": (c_int, [PP]),
    "dnnl_post_ops_append_binary": (c_int, [P, c_int, P]),
    "dnnl_post_ops_append_eltwise": (c_int, [P, c_int, c_float, c_float]),
    "dnnl_post_ops_destroy": (c_int, [P]),
    # pd, engine, alg, src0, src1, dst, attr
    "dnnl_binary_primitive_desc_create": (c_int, [PP, P, c_int, P, P, P, P]),
    # pd, engine, alg, src, dst, p, eps, attr
    "dnnl_reduction_primitive_desc_create": (c_int, [PP, P, c_int, P, P, c_float, c_float, P]),
    "dnnl_matmul_primitive_desc_create": (c_int, [PP, P, P, P, P, P, P]),
    # pd, engine, prop, alg, src, weights, bias, dst, strides, dilates, pad_l, pad_r, attr
    "dnnl_convolution_forward_primitive_desc_create": (
        c_int,
        [PP, P, c_int, c_int, P, P, P, P, Dims, Dims, Dims, Dims, P],
    ),
    # pd, engine, alg, diff_src, weights, diff_dst, strides, dilates, pad_l, pad_r, hint, attr
    "dnnl_convolution_backward_data_primitive_desc_create": (
        c_int,
        [PP, P, c_int, P, P, P, Dims, Dims, Dims, Dims, P, P],
    ),
    # pd, engine, alg, src, diff_weights, diff_bias, diff_dst, strides, dilates, pads, hint, attr
    "dnnl_convolution_backward_weights_primitive_desc_create": (
        c_int,
        [PP, P, c_int, P, P, P, P, Dims, Dims, Dims, Dims, P, P],
    ),
    # pd, engine, prop, src, dst, epsilon, flags, attr
    "dnnl_batch_normalization_forward_primitive_desc_create": (
        c_int,
        [PP, P, c_int, P, P, c_float, c_uint, P],
    ),
    # pd, engine, prop, diff_src, diff_dst, src, epsilon, flags, hint, attr
    "dnnl_batch_normalization_backward_primitive_desc_create": (
        c_int,
        [PP, P, c_int, P, P, P, c_float, c_uint, P, P],
    ),
    # pd, engine, prop, alg, src, dst, strides, kernel, dilation, pad_l, pad_r, attr
    "dnnl_pooling_forward_primitive_desc_create": (
        c_int,
        [PP, P, c_int, c_int, P, P, Dims, Dims, Dims, Dims, Dims, P],
    ),
    # pd, engine, alg, diff_src, diff_dst, strides, kernel, dilation, pad_l, pad_r, hint, attr
    "dnnl_pooling_backward_primitive_desc_create": (
        c_int,
        [PP, P, c_int, P, P, Dims, Dims, Dims, Dims, Dims, P, P],
    ),
    # pd, engine, prop, alg, src, dst, alpha, beta, attr
    "dnnl_eltwise_forward_primitive_desc_create": (
        c_int,
        [PP, P, c_int, c_int, P, P, c_float, c_float, P],
    ),
    # pd, engine, alg, diff_src, diff_dst, data, alpha, beta, hint, attr
    "dnnl_eltwise_backward_primitive_desc_create": (
        c_int,
        [PP, P, c_int, P, P, P, c_float, c_float, P, P],
    ),
}


def _candidates() -> list[Path]:
    """Where the wheel puts ``libdnnl.so.3`` (its data files land in ``<prefix>/lib``)."""
    paths = []
    env = os.environ.get("CNNLAB_ONEDNN_LIBRARY", "").strip()
    if env:
        paths.append(Path(env))
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        try:
            dist = distribution("onednn-cpu-gomp")
            for f in dist.files or ():
                if f.name.startswith("libdnnl.so"):
                    paths.append(Path(dist.locate_file(f)).resolve())
        except PackageNotFoundError:
            pass
    except ImportError:  # pragma: no cover - Python < 3.8
        pass
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix)):
        paths.append(Path(prefix) / "lib" / "libdnnl.so.3")
    return paths


class _Loaded:
    lib: ctypes.CDLL | None = None
    reason: str = ""
    tried = False
    wait_policy = ""  # the OpenMP wait policy in effect (see _quiet_openmp)
    threads_sleep = False  # whether that policy lets idle threads sleep at once


def _openmp_loaded() -> bool:
    try:
        with open("/proc/self/maps") as f:
            return any("libgomp" in line for line in f)
    except OSError:  # pragma: no cover - not Linux
        return False


def _quiet_openmp() -> None:
    """Let oneDNN's idle OpenMP threads sleep instead of spinning (``OMP_WAIT_POLICY=passive``),
    unless the user chose a policy. libgomp reads the setting once, when it loads: if
    PyTorch (which shares it) loaded it first, its setting (libgomp's default) stays.

    A spinning thread is ready for the next kernel at once, but where another process wants
    the core, a parallel region waits for a descheduled thread at every barrier. Measured
    2026-12-07 on 2 cores of an AVX-512 EPYC, wall ms per LeNet-5 training step (batch 64)
    without PyTorch in the process: quiet machine, passive 2.90, libgomp's default spin 2.05
    (ResNet-20: 134 against 122); one other busy process (load 2.4), passive 21.0, the
    default 226 (``GOMP_SPINCOUNT=30000``: 61). A 30% gain on a quiet machine against a 10x
    loss on a shared one: cnnlab sleeps, and ``OMP_WAIT_POLICY=active`` (or
    ``GOMP_SPINCOUNT``) is there for a machine kept quiet.
    """
    chosen = os.environ.get("OMP_WAIT_POLICY") or os.environ.get("GOMP_SPINCOUNT")
    if chosen:
        policy = os.environ.get("OMP_WAIT_POLICY", "")
        spins = os.environ.get("GOMP_SPINCOUNT", "")
        _Loaded.wait_policy = f"as set: OMP_WAIT_POLICY={policy} GOMP_SPINCOUNT={spins}"
        _Loaded.threads_sleep = policy.strip().lower() == "passive" or spins.strip() == "0"
    elif _openmp_loaded():
        _Loaded.wait_policy = "libgomp's default (loaded before oneDNN, e.g. by PyTorch)"
    else:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        _Loaded.wait_policy = "passive (set by cnnlab)"
        _Loaded.threads_sleep = True


def load() -> ctypes.CDLL | None:
    """The oneDNN library with its prototypes declared, or None (see ``why_unavailable``)."""
    if _Loaded.tried:
        return _Loaded.lib
    _Loaded.tried = True
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        _Loaded.reason = f"the {WHEEL} wheel exists only for x86-64 Linux"
        return None
    if os.environ.get("CNNLAB_ONEDNN", "").strip() == "0":
        _Loaded.reason = "disabled by CNNLAB_ONEDNN=0"
        return None
    path = next((p for p in _candidates() if p.is_file()), None)
    if path is None:
        _Loaded.reason = f"libdnnl.so.3 not found: pip install {WHEEL}"
        return None
    _quiet_openmp()
    try:
        lib = ctypes.CDLL(str(path))
        for name, (restype, argtypes) in _PROTOTYPES.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, argtypes
    except (OSError, AttributeError) as e:
        _Loaded.reason = f"could not load {path}: {e}"
        return None
    v = lib.dnnl_version().contents
    if (v.major, v.minor) != (3, 2):
        _Loaded.reason = f"{path} is oneDNN {v.major}.{v.minor}, cnnlab's binding needs 3.2"
        return None
    _Loaded.lib = lib
    return lib


def why_unavailable() -> str:
    """Why ``load()`` returned None ('' when it loaded)."""
    load()
    return _Loaded.reason


def threads_sleep() -> bool:
    """Whether oneDNN's idle OpenMP threads sleep at once (the passive policy: cnnlab's
    default, or the user's ``OMP_WAIT_POLICY=passive`` / ``GOMP_SPINCOUNT=0``), so that each
    kernel call first wakes them; False where they spin a while (PyTorch loaded libgomp
    first, or the user chose so)."""
    load()
    return _Loaded.threads_sleep


def require() -> ctypes.CDLL:
    """The library, or a RuntimeError saying why it is not there."""
    lib = load()
    if lib is None:
        raise RuntimeError(f"oneDNN kernels unavailable: {why_unavailable()}")
    return lib


def avx512() -> bool:
    """Whether oneDNN runs its AVX-512 kernels here (they block channels by 16, AVX2's by
    8, which changes which layouts run faster)."""
    return require().dnnl_get_effective_cpu_isa() >= k.ISA_AVX512_CORE


def wait_policy() -> str:
    """The OpenMP wait policy oneDNN's threads run with, and who chose it."""
    load()
    return _Loaded.wait_policy

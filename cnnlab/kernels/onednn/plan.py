"""Plans: one configuration of one op (its shapes and arguments), built once and run many times.

A plan holds the oneDNN primitives of the op and of the reorders around it (NumPy arrays in
and out, NCHW or NHWC as their strides say; oneDNN's blocked layouts inside, where the
primitive runs faster there), the memory objects between them, and
the order to run them in. Running it only points the user memories at the caller's arrays
and executes the steps: no descriptor is built twice.

Intermediate buffers (the blocked copies and each primitive's scratchpad) come from one
per-thread arena that grows to the largest plan and is then reused: no per-call allocation,
no page faults from fresh temporaries. One engine per process; a stream, an arena and a plan
cache per thread, so threads calling kernels at once never share a buffer.
"""

from __future__ import annotations

import ctypes
import threading
from collections import OrderedDict
from collections.abc import Callable
from ctypes import byref, c_void_p

import numpy as np

from cnnlab.kernels.onednn import constants as k
from cnnlab.kernels.onednn.library import Dims, ExecArg, check, require

__all__ = ["Plan", "cached", "dims"]

ALIGN = 64  # bytes: a cache line, and what AVX-512 loads like
CACHE_SIZE = 256  # plans kept per thread (least recently used dropped first)
_ALLOCATE = c_void_p(ctypes.c_size_t(-1).value)  # DNNL_MEMORY_ALLOCATE


def dims(values) -> Dims:
    """A ``dnnl_dims_t`` from a short sequence of ints."""
    d = Dims()
    for i, v in enumerate(values):
        d[i] = int(v)
    return d


class _Process:
    engine: c_void_p | None = None
    lock = threading.Lock()


def engine() -> c_void_p:
    """The process's CPU engine (created on first use)."""
    if _Process.engine is None:
        with _Process.lock:
            if _Process.engine is None:
                e = c_void_p()
                check(require().dnnl_engine_create(byref(e), k.CPU, 0), "dnnl_engine_create")
                _Process.engine = e
    return _Process.engine


class _Thread(threading.local):
    def __init__(self) -> None:
        self.stream: c_void_p | None = None
        self.arena = np.empty(0, np.uint8)
        self.plans: OrderedDict = OrderedDict()


_local = _Thread()


def _stream() -> c_void_p:
    if _local.stream is None:
        s = c_void_p()
        check(require().dnnl_stream_create(byref(s), engine(), k.STREAM_DEFAULT), "stream_create")
        _local.stream = s
    return _local.stream


def _arena(nbytes: int) -> int:
    """Address of this thread's arena, grown to at least ``nbytes``."""
    if _local.arena.nbytes < nbytes:
        _local.arena = np.empty(nbytes + ALIGN, np.uint8)
    return (_local.arena.ctypes.data + ALIGN - 1) // ALIGN * ALIGN


class Plan:
    """The primitives and memories of one op configuration (``what`` names it in errors)."""

    def __init__(self, what: str) -> None:
        self.lib = require()
        self.what = what
        self.inputs: dict[str, c_void_p] = {}  # user arrays, pointed at on each run
        self.steps: list[tuple[c_void_p, ctypes.Array, int]] = []
        self.scratch_bytes = 0
        self._scratch: list[tuple[c_void_p, int]] = []  # (memory, offset in the arena)
        self._after: list[tuple] = []  # reorders out of the next primitive
        self._owned: list[tuple[str, c_void_p]] = []
        self.attr = self.new_attr()

    # ------------------------------------------------------------------ building
    def _new(self, kind: str, create: Callable, *args) -> c_void_p:
        h = c_void_p()
        check(create(byref(h), *args), f"{self.what}: dnnl_{kind}_create")
        self._owned.append((kind, h))
        return h

    def new_attr(self) -> c_void_p:
        """Primitive attributes whose scratchpad the plan passes (from the arena)."""
        attr = self._new("primitive_attr", self.lib.dnnl_primitive_attr_create)
        check(
            self.lib.dnnl_primitive_attr_set_scratchpad_mode(attr, k.SCRATCHPAD_USER),
            f"{self.what}: set_scratchpad_mode",
        )
        return attr

    def md(self, shape, tag: int = k.ANY) -> c_void_p:
        """A float32 memory descriptor (``tag`` ANY lets the primitive choose the layout)."""
        shape = tuple(shape)
        return self._new(
            "memory_desc",
            self.lib.dnnl_memory_desc_create_with_tag,
            len(shape),
            dims(shape),
            k.F32,
            tag,
        )

    def pd(self, create: Callable, *args, attr: c_void_p | None = None) -> c_void_p:
        """A primitive descriptor from ``create(&pd, engine, *args, attr)`` (the plan's
        attributes unless ``attr`` is given)."""
        return self._new("primitive_desc", create, engine(), *args, attr or self.attr)

    def impl(self, pd: c_void_p) -> str:
        """The implementation oneDNN chose for ``pd`` (``jit:avx512_core``, ``ref:any``...)."""
        name = ctypes.c_char_p()
        what = f"{self.what}: query implementation"
        check(self.lib.dnnl_primitive_desc_query(pd, k.QUERY_IMPL_INFO_STR, 0, byref(name)), what)
        return (name.value or b"").decode()

    def query(self, pd: c_void_p, what: int, index: int = 0) -> c_void_p:
        return c_void_p(self.lib.dnnl_primitive_desc_query_md(pd, what, index))

    def user(self, name: str, md: c_void_p) -> c_void_p:
        """A memory the caller's array ``name`` backs (its address is set on each run)."""
        mem = self._new("memory", self.lib.dnnl_memory_create, md, engine(), None)
        self.inputs[name] = mem
        return mem

    def scratch(self, md: c_void_p) -> c_void_p:
        """A memory in the thread's arena, live for one run of this plan."""
        mem = self._new("memory", self.lib.dnnl_memory_create, md, engine(), None)
        self._scratch.append((mem, self.scratch_bytes))
        size = self.lib.dnnl_memory_desc_get_size(md)
        self.scratch_bytes += (size + ALIGN - 1) // ALIGN * ALIGN
        return mem

    def _same(self, a: c_void_p, b: c_void_p) -> bool:
        return bool(self.lib.dnnl_memory_desc_equal(a, b))

    def into(self, name: str, user_md: c_void_p, want: c_void_p) -> c_void_p:
        """The memory a primitive reads for user array ``name``: the array itself where the
        primitive wants its layout, else a blocked copy reordered from it (a step now)."""
        mem = self.user(name, user_md)
        if self._same(user_md, want):
            return mem
        inner = self.scratch(want)
        self.reorder(mem, user_md, inner, want)
        return inner

    def out_of(self, name: str, user_md: c_void_p, got: c_void_p) -> c_void_p:
        """The memory a primitive writes for user array ``name`` (a reorder into the array
        follows the next :meth:`step` where the layouts differ)."""
        mem = self.user(name, user_md)
        if self._same(user_md, got):
            return mem
        inner = self.scratch(got)
        self._after.append((inner, got, mem, user_md))
        return inner

    def reorder(self, src, src_md, dst, dst_md) -> None:
        """A step copying memory ``src`` into ``dst`` between their layouts."""
        pd = self._new(
            "reorder_primitive_desc",
            self.lib.dnnl_reorder_primitive_desc_create,
            src_md,
            engine(),
            dst_md,
            engine(),
            self.attr,
        )
        self._add(pd, {k.ARG_FROM: src, k.ARG_TO: dst})

    def step(self, pd: c_void_p, args: dict[int, c_void_p]) -> None:
        """Run the primitive of ``pd`` with ``args`` (``DNNL_ARG_*`` -> memory), then the
        reorders of its outputs into the caller's arrays."""
        self._add(pd, args)
        after, self._after = self._after, []
        for inner, got, mem, user_md in after:
            self.reorder(inner, got, mem, user_md)

    def _add(self, pd: c_void_p, args: dict[int, c_void_p]) -> None:
        pad = self.query(pd, k.QUERY_SCRATCHPAD_MD)
        if pad.value and self.lib.dnnl_memory_desc_get_size(pad):
            args = {**args, k.ARG_SCRATCHPAD: self.scratch(pad)}
        prim = self._new("primitive", self.lib.dnnl_primitive_create, pd)
        table = (ExecArg * len(args))(*(ExecArg(a, m) for a, m in args.items()))
        self.steps.append((prim, table, len(args)))

    # ------------------------------------------------------------------ running
    def run(self, **arrays: np.ndarray) -> None:
        """Point the user memories at ``arrays`` (C-contiguous float32) and run every step."""
        lib = self.lib
        for name, a in arrays.items():
            check(lib.dnnl_memory_set_data_handle(self.inputs[name], a.ctypes.data), self.what)
        base = _arena(self.scratch_bytes)
        for mem, offset in self._scratch:
            check(lib.dnnl_memory_set_data_handle(mem, base + offset), self.what)
        stream = _stream()
        for prim, table, n in self.steps:
            check(lib.dnnl_primitive_execute(prim, stream, n, table), f"{self.what}: execute")
        check(lib.dnnl_stream_wait(stream), f"{self.what}: stream_wait")

    def nbytes(self, md: c_void_p) -> int:
        return int(self.lib.dnnl_memory_desc_get_size(md))

    def __del__(self) -> None:
        try:
            lib = self.lib
            for kind, h in reversed(self._owned):
                getattr(lib, f"dnnl_{kind.replace('reorder_', '')}_destroy")(h)
        except Exception:  # noqa: BLE001 - interpreter shutdown: the library may be gone
            pass


def cached(key: tuple, build: Callable[[], Plan]) -> Plan:
    """This thread's plan for ``key``, built by ``build()`` the first time."""
    plans = _local.plans
    plan = plans.get(key)
    if plan is None:
        plan = build()
        plans[key] = plan
        if len(plans) > CACHE_SIZE:
            plans.popitem(last=False)
    else:
        plans.move_to_end(key)
    return plan

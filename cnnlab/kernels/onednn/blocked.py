"""Images kept in oneDNN's channel-blocked layout between consecutive oneDNN ops.

oneDNN's JIT convolutions and batch norm run on channel-blocked images (``nChw16c``:
channels in groups of 16, each pixel's 16 values side by side). Reordering NCHW into that
layout and back around every op took a third of oneDNN's time in a ResNet-20 training step
(261 reorders, 284 of 884 ms on one thread, ``ONEDNN_VERBOSE=1``). So an op whose consumer
is another oneDNN op hands over a :class:`Blocked`: the blocked bytes plus the NCHW shape
they stand for. The next op reads them as they are; anything else sees NCHW: a tensor
holding a ``Blocked`` converts it (one reorder) the first time its ``.data`` is read, and
then keeps only the NCHW array, so nobody can change one copy and read the other.

Element-wise ops (ReLU, the residual add) do not care about the layout: on two images of the
same shape and layout they work on the flat buffers. Channels not a multiple of the block
are padded with zeros, which stay zeros under ReLU and addition.

NHWC (channels last, no padding) is one of these layouts too: inference and grouped
convolutions run on it (:func:`cnnlab.kernels.onednn.conv.channels_last` says when and why).
"""

from __future__ import annotations

import numpy as np

from cnnlab.kernels.onednn import constants as k
from cnnlab.kernels.onednn.arrays import as_f32
from cnnlab.kernels.onednn.plan import Plan, cached

__all__ = ["BLOCKED_TAGS", "Blocked", "empty", "image", "layout_tag", "raw", "tag_of"]

# the layouts a Blocked may have (a primitive choosing another one writes NCHW instead)
BLOCKED_TAGS = (k.TAG_NCHW16C, k.TAG_NCHW8C, k.TAG_NHWC)
_NAMES = {k.TAG_NCHW16C: "nChw16c", k.TAG_NCHW8C: "nChw8c", k.TAG_NHWC: "NHWC"}


def tag_of(plan: Plan, md, shape) -> int | None:
    """Which of :data:`BLOCKED_TAGS` the memory descriptor ``md`` of an image of ``shape``
    is, or None (plain, or a layout cnnlab does not hand on)."""
    if len(shape) != 4:
        return None
    for tag in BLOCKED_TAGS:
        if plan._same(md, plan.md(shape, tag)):
            return tag
    return None


def _add_plan(size: int) -> Plan:
    plan = Plan(f"binary add (size {size})")
    md = plan.md((size,), k.TAG_X)
    pd = plan.pd(plan.lib.dnnl_binary_primitive_desc_create, k.BINARY_ADD, md, md, md)
    args = {k.ARG_SRC_0: plan.user("a", md), k.ARG_SRC_1: plan.user("b", md)}
    plan.step(pd, {**args, k.ARG_DST: plan.user("y", md)})
    return plan


def _dense_plan(shape: tuple, tag: int) -> Plan:
    plan = Plan(f"reorder {_NAMES[tag]} -> NCHW (shape {shape})")
    src_md, dst_md = plan.md(shape, tag), plan.md(shape, k.TAG_NCHW)
    plan.reorder(plan.user("x", src_md), src_md, plan.user("y", dst_md), dst_md)
    return plan


def _blocked_plan(shape: tuple, tag: int) -> Plan:
    plan = Plan(f"reorder NCHW -> {_NAMES[tag]} (shape {shape})")
    src_md, dst_md = plan.md(shape, k.TAG_NCHW), plan.md(shape, tag)
    plan.reorder(plan.user("x", src_md), src_md, plan.user("y", dst_md), dst_md)
    plan.y_nbytes = plan.nbytes(dst_md)
    return plan


def from_dense(a: np.ndarray, tag: int) -> Blocked:
    """The NCHW float32 image ``a`` reordered into the blocked layout ``tag``."""
    shape = tuple(int(v) for v in a.shape)
    plan = cached(("nchw_to_blocked", shape, tag), lambda: _blocked_plan(shape, tag))
    out = Blocked(np.empty(plan.y_nbytes // 4, np.float32), shape, tag)
    plan.run(x=np.ascontiguousarray(a, np.float32), y=out.buf)
    return out


class Blocked:
    """A float32 image of NCHW ``shape`` stored in the blocked layout ``tag``; ``buf`` is
    the flat buffer (with the zero padding of the last channel block).

    It has an array's ``shape``, ``dtype``, ``ndim`` and ``size``; :meth:`dense` (and
    ``np.asarray``) gives the NCHW array.
    """

    __slots__ = ("buf", "shape", "tag", "nan_free")
    is_blocked = True
    dtype = np.dtype(np.float32)
    ndim = 4

    def __init__(self, buf: np.ndarray, shape: tuple, tag: int) -> None:
        if tag not in BLOCKED_TAGS:
            raise ValueError(f"Blocked: tag must be one of {BLOCKED_TAGS}, got {tag}")
        self.buf, self.shape, self.tag = buf, tuple(int(v) for v in shape), tag
        # True where the op that made it knows it holds no NaN (batch norm in training, from
        # its finite batch statistics), so ReLU may skip its NaN check
        self.nan_free = False

    @property
    def size(self) -> int:
        n, c, h, w = self.shape
        return n * c * h * w

    @property
    def layout(self) -> str:
        return _NAMES[self.tag]

    def dense(self) -> np.ndarray:
        """The NCHW array (a new one, one reorder)."""
        key = ("blocked_to_nchw", self.shape, self.tag)
        plan = cached(key, lambda: _dense_plan(self.shape, self.tag))
        y = np.empty(self.shape, np.float32)
        plan.run(x=self.buf, y=y)
        return y

    def copy(self) -> np.ndarray:
        return self.dense()

    def plus(self, other: Blocked, out: Blocked | None = None) -> Blocked:
        """``self + other`` (same shape and layout) on oneDNN's threads; ``out`` may be
        ``self`` (the residual add, and gradients summed where a tensor is used twice)."""
        if not self.same_layout(other):
            raise ValueError(f"Blocked.plus: {self!r} and {other!r} differ")
        size = self.buf.size
        plan = cached(("blocked_add", size), lambda: _add_plan(size))
        y = Blocked(np.empty_like(self.buf), self.shape, self.tag) if out is None else out
        plan.run(a=self.buf, b=other.buf, y=y.buf)
        y.nan_free = False  # inf + -inf is NaN: a sum is not known to be NaN-free
        return y

    def same_layout(self, other) -> bool:
        return type(other) is Blocked and other.shape == self.shape and other.tag == self.tag

    def __array__(self, dtype=None, copy=None):
        y = self.dense()
        return y if dtype is None else y.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"Blocked(shape={self.shape}, layout={self.layout})"


def empty(shape, tag: int | None, nbytes: int):
    """A kernel's new (uninitialised) result: an NCHW array where ``tag`` is None, else a
    Blocked of ``nbytes`` (the size of the primitive's descriptor, padding included)."""
    if tag is None:
        return np.empty(shape, np.float32)
    return Blocked(np.empty(nbytes // 4, np.float32), shape, tag)


def image(a, name: str, what: str):
    """A kernel's image argument: a Blocked as it is, anything else as C-contiguous
    float32 (``name`` and ``what`` go into the error)."""
    return a if type(a) is Blocked else as_f32(a, name, what)


def layout_tag(a) -> int:
    """The oneDNN format tag ``a`` is stored in (NCHW for a NumPy array)."""
    return a.tag if type(a) is Blocked else k.TAG_NCHW


def raw(a) -> np.ndarray:
    """The buffer a plan points its memory at: a Blocked's ``buf``, or the array itself."""
    return a.buf if type(a) is Blocked else a

"""Named results of the ops that return values with their indices, as
``torch.return_types``: ``x.max(dim=1).values``, ``cnnlab.sort(x).indices``.

Each is a named tuple, so ``values, indices = x.max(1)`` unpacks as before.
"""

from __future__ import annotations

from collections import namedtuple

__all__ = ["kthvalue", "max", "median", "min", "sort", "topk"]

_FIELDS = ("values", "indices")

max = namedtuple("max", _FIELDS)
min = namedtuple("min", _FIELDS)
sort = namedtuple("sort", _FIELDS)
topk = namedtuple("topk", _FIELDS)
median = namedtuple("median", _FIELDS)
kthvalue = namedtuple("kthvalue", _FIELDS)

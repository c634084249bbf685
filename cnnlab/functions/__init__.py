"""The ``torch.*`` functions for what cnnlab computes, one file per job, re-exported by
:mod:`cnnlab` (``cnnlab.max(x, 1)``, ``cnnlab.einsum(...)``, ``cnnlab.set_grad_enabled``).

- :mod:`~cnnlab.functions.reduce`: sum, mean, std, prod, max/min with indices, sort, topk ...
- :mod:`~cnnlab.functions.pointwise`: exp, log, clamp, pow, sin, maximum, add ...
- :mod:`~cnnlab.functions.linalg`: matmul, mm, bmm, einsum, t, outer ...
- :mod:`~cnnlab.functions.shape`: split, chunk, squeeze, gather, flip, masked_fill ...
- :mod:`~cnnlab.functions.indexing`: nonzero, roll, repeat_interleave, diag, meshgrid.
- :mod:`~cnnlab.functions.logic`: comparisons, allclose, isnan, is_tensor ...
- :mod:`~cnnlab.functions.grad_mode`: no_grad, set_grad_enabled, inference_mode.
- :mod:`~cnnlab.functions.out`: the ``out=`` argument of the products, sums and joins.
- :mod:`~cnnlab.functions.settings`: compile and the global switches, accepted and recorded.

Each is a call of an op in :mod:`cnnlab.ops` or a short composite of ops (so it has no
backward of its own); the factories are in :mod:`cnnlab.creation`. :mod:`cnnlab` loads
these modules on first use of one of their names (a table in ``cnnlab/__init__.py``).
"""

"""SyncBatchNorm: batch-norm statistics over the batch of every rank (``--sync-bn``).

Forward reduces, per channel, ``(sum x, sum x^2, count)`` over the ranks in one Allreduce and
normalises with the global ``mean`` and biased ``var`` (``M`` values in all). With ``g`` this
rank's ``dL_r/dy`` and the global loss the ranks' mean, backward reduces ``(sum g,
sum g * xhat)`` over the ranks and returns N times this rank's share of ``dL/dx``, which the
gradient averaging (``/ N``) upstream turns into exactly the one-process gradient on the
concatenated batch. In a world of one this is BatchNorm.
"""

from __future__ import annotations

import numpy as np

from cnnlab.autograd import Function
from cnnlab.distributed import mpi
from cnnlab.nn.layers.norm import BatchNorm1d, BatchNorm2d, _BatchNorm

__all__ = ["SyncBatchNorm", "convert_sync_batchnorm"]


def _channel_sums(*arrays) -> np.ndarray:
    """Per-channel sums of each (N, C, ...) array, stacked in float64: (len(arrays), C)."""
    return np.stack([a.sum(axis=(0, *range(2, a.ndim)), dtype=np.float64) for a in arrays])


def _per_channel(v, ndim: int):
    return v.reshape(1, -1, *([1] * (ndim - 2)))


class SyncBatchNormFn(Function):
    """Training-mode batch norm with statistics over all ranks; ``ctx`` carries mean, var."""

    @staticmethod
    def forward(x, weight, bias, *, eps=1e-5):
        m_local = x.size // x.shape[1]
        sums = _channel_sums(x, x * x)
        stats = np.concatenate([sums.reshape(-1), [m_local]])
        mpi.all_reduce(stats)
        c = x.shape[1]
        m = float(stats[-1])
        mean = stats[:c] / m
        var = np.maximum(stats[c : 2 * c] / m - mean * mean, 0.0)
        invstd = 1.0 / np.sqrt(var + eps)
        xhat = (x - _per_channel(mean, x.ndim).astype(x.dtype)) * _per_channel(
            invstd, x.ndim
        ).astype(x.dtype)
        w = np.ones(c, x.dtype) if weight is None else weight
        b = np.zeros(c, x.dtype) if bias is None else bias
        y = xhat * _per_channel(w, x.ndim) + _per_channel(b, x.ndim)
        ctx = (xhat, w, invstd, m, weight is not None, bias is not None, mean, var)
        return y.astype(x.dtype, copy=False), ctx

    # dL/dbias = sum_local(g), dL/dweight = sum_local(g * xhat) (averaged over ranks later);
    # dL/dx = weight * invstd * (g - S1 / M - xhat * S2 / M), S1 = sum_all(g), S2 = sum_all(g xhat)
    @staticmethod
    def backward(ctx, g):
        xhat, w, invstd, m, has_w, has_b, _, _ = ctx
        local = _channel_sums(g, g * xhat)
        total = mpi.all_reduce(local.copy())
        nd = g.ndim
        s1, s2 = (_per_channel(total[i] / m, nd) for i in (0, 1))
        scale = _per_channel(w * invstd, nd)
        gx = (scale * (g - s1 - xhat * s2)).astype(g.dtype, copy=False)
        gw = local[1].astype(g.dtype) if has_w else None
        gb = local[0].astype(g.dtype) if has_b else None
        return gx, gw, gb


class SyncBatchNorm(_BatchNorm):
    """BatchNorm whose training statistics span every rank's batch (PyTorch's name).

    Eval mode normalises with the running statistics, as BatchNorm. Running statistics are
    updated from the global mean and the unbiased global variance, so they agree on every
    rank.

    Shape: input (N, C), (N, C, L) or (N, C, H, W) -> same.
    """

    _ndims = (2, 3, 4)
    _pattern = "(N, C, ...)"

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        factor = 0.1 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.array += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.array)
        out, ctx = SyncBatchNormFn.apply_with_ctx(x, self.weight, self.bias, eps=self.eps)
        if self.track_running_stats:
            mean, var, m = ctx[6], ctx[7], ctx[3]
            rm, rv = self.running_mean.array, self.running_var.array
            rm *= 1 - factor
            rm += (factor * mean).astype(rm.dtype)
            rv *= 1 - factor
            rv += (factor * var * m / max(m - 1, 1)).astype(rv.dtype)
        return out


def convert_sync_batchnorm(module):
    """Replace every BatchNorm1d/BatchNorm2d in ``module`` by a SyncBatchNorm holding the same
    parameters and buffers (in place); returns ``module`` (or the replacement of a bare BN)."""
    if isinstance(module, (BatchNorm1d, BatchNorm2d)) and not isinstance(module, SyncBatchNorm):
        new = SyncBatchNorm(
            module.num_features,
            module.eps,
            module.momentum,
            module.affine,
            module.track_running_stats,
            bias=module.bias is not None,
        )
        for name in ("weight", "bias"):  # the same Parameter objects: an optimiser keeps them
            if getattr(module, name) is not None:
                setattr(new, name, getattr(module, name))
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            if getattr(module, name) is not None:
                new.register_buffer(name, getattr(module, name))
        new.train(module.training)
        return new
    for name, child in list(module._modules.items()):
        if child is not None:
            module._modules[name] = convert_sync_batchnorm(child)
    return module

"""Data-parallel training over several processes and machines with MPI (mpi4py).

In a user's own loop::

    from cnnlab import distributed as dist

    dist.init()                                  # under mpirun; one process otherwise
    loader = dist.DistributedDataLoader(train_set, 64, shuffle=True, seed=0)
    dist.broadcast_parameters(model)             # every rank starts from rank 0's weights
    for x, y in loader:
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        dist.all_reduce_gradients(model)         # mean of the ranks' gradients
        optimizer.step()

started with ``mpirun -n 2 python script.py``. Without mpi4py, or outside mpirun, the
same script runs as one process and every call here is a no-op.
"""

from cnnlab.distributed.mpi import (
    GradientBuckets,
    abort,
    all_reduce,
    all_reduce_gradients,
    available,
    barrier,
    broadcast_parameters,
    check_same,
    init,
    launched_by_mpirun,
    rank,
    world_size,
)
from cnnlab.distributed.sampler import DistributedDataLoader, DistributedSampler, shard_range
from cnnlab.distributed.sync_batchnorm import SyncBatchNorm, convert_sync_batchnorm

__all__ = [
    "DistributedDataLoader",
    "DistributedSampler",
    "GradientBuckets",
    "SyncBatchNorm",
    "abort",
    "all_reduce",
    "all_reduce_gradients",
    "available",
    "barrier",
    "broadcast_parameters",
    "check_same",
    "convert_sync_batchnorm",
    "init",
    "launched_by_mpirun",
    "rank",
    "shard_range",
    "world_size",
]

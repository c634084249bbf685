"""Each rank's share of a data set: DistributedSampler and the sharded DataLoader.

Every rank draws the same permutation of the whole data set from ``(seed, epoch)``, so the
shards are disjoint and reshuffled every epoch identically everywhere; rank ``r`` takes
positions ``r, r + N, r + 2N, ...``. To give every rank the same number of samples (and
so the same number of steps, the last partial batch included, which keeps the collective
calls in step), the permutation is padded with its own first elements up to a multiple of
``N`` (``drop_last=False``, as PyTorch) or cut down to one (``drop_last=True``). With one
rank the order is exactly :class:`~cnnlab.data.DataLoader`'s shuffled order, so ``N`` ranks
with batch ``B`` see, step by step, the images one process sees with batch ``N * B``.
"""

from __future__ import annotations

import math

import numpy as np

from cnnlab.data import DataLoader
from cnnlab.distributed import mpi

__all__ = ["DistributedDataLoader", "DistributedSampler", "shard_range"]


class DistributedSampler:
    """The indices of one rank's shard of ``len(dataset)`` samples for each epoch.

    Args:
        num_replicas: the number of ranks (default: :func:`world_size`).
        rank: this rank (default: :func:`rank`).
        shuffle: a permutation seeded by ``(seed, epoch)``; else the natural order.
        drop_last: cut the tail so shards divide evenly instead of padding by wrapping.

    ``set_epoch(e)`` before each epoch; ``iter(sampler)`` yields this rank's indices.
    """

    def __init__(
        self,
        dataset,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        self.num_replicas = mpi.world_size() if num_replicas is None else int(num_replicas)
        self.rank = mpi.rank() if rank is None else int(rank)
        if self.num_replicas < 1 or not 0 <= self.rank < self.num_replicas:
            raise ValueError(
                f"DistributedSampler: need 0 <= rank < num_replicas, got rank {self.rank} "
                f"of {self.num_replicas}"
            )
        self.size = len(dataset)
        if self.size == 0 or (drop_last and self.size < self.num_replicas):
            raise ValueError(
                f"DistributedSampler: {self.size} samples cannot be shared by "
                f"{self.num_replicas} ranks"
            )
        self.shuffle, self.seed, self.drop_last = shuffle, int(seed), drop_last
        per = self.size / self.num_replicas
        self.num_samples = math.floor(per) if drop_last else math.ceil(per)
        self.total_size = self.num_samples * self.num_replicas
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def indices(self, epoch: int | None = None) -> np.ndarray:
        """This rank's indices for ``epoch`` (default: the current one).

        Shape: ``(num_samples,)`` int64.
        """
        epoch = self.epoch if epoch is None else int(epoch)
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(self.size)
        else:
            order = np.arange(self.size)
        if self.total_size > self.size:  # pad by wrapping (possibly more than once)
            order = np.resize(order, self.total_size)
        order = order[: self.total_size]
        return order[self.rank :: self.num_replicas]

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples


class DistributedDataLoader(DataLoader):
    """A :class:`~cnnlab.data.DataLoader` over this rank's shard (a :class:`DistributedSampler`).

    Same arguments as DataLoader plus ``num_replicas``/``rank``; ``shuffle=True`` needs a
    ``seed`` common to all ranks (a drawn seed would differ). Batches, augmentation
    draws, ``state_dict`` and resume work as in DataLoader; the augmentation generator of
    each batch is keyed by ``(batch, rank)``, so ranks do not draw the same crops.

    Shape:
        - yields: ``(images (B, C, H, W), labels (B,))``, ``len(self)`` batches per epoch,
          the same on every rank
    """

    def __init__(self, dataset, batch_size: int = 1, *, num_replicas=None, rank=None, **kw):
        if kw.get("shuffle") and kw.get("seed") is None:
            raise ValueError("DistributedDataLoader: shuffle=True needs a seed shared by all ranks")
        super().__init__(dataset, batch_size, **kw)
        self.sampler = DistributedSampler(
            dataset,
            num_replicas,
            rank,
            shuffle=self.shuffle,
            seed=self.seed,
            drop_last=False,
        )

    def __len__(self) -> int:
        n = self.sampler.num_samples
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.sampler.seed = self.seed  # the order follows the restored seed

    def _order(self, epoch: int) -> np.ndarray:
        return self.sampler.indices(epoch)

    def _load(self, indices, epoch: int, b: int) -> tuple:
        # augmentation keyed by (batch, rank): ranks draw different crops; one rank as DataLoader
        n = self.sampler.num_replicas
        return super()._load(indices, epoch, b * n + self.sampler.rank)


def shard_range(n: int, num_replicas: int | None = None, rank: int | None = None) -> np.ndarray:
    """This rank's contiguous, disjoint slice of ``range(n)`` for evaluation (no padding:
    the sizes differ by at most one, and the reduced counts are exact).

    Shape: ``(n // N or n // N + 1,)`` int64.
    """
    num_replicas = mpi.world_size() if num_replicas is None else num_replicas
    rank = mpi.rank() if rank is None else rank
    bounds = np.linspace(0, n, num_replicas + 1).round().astype(np.int64)
    return np.arange(bounds[rank], bounds[rank + 1])

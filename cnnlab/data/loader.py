"""DataLoader: batches of Tensors, seeded shuffling, vectorised gathering, thread prefetch.

Every epoch's order and every batch's augmentation come from generators derived from
``(seed, epoch)`` and ``(seed, epoch, batch)``, so an epoch is reproducible on its own,
batches can be built in any order by any thread, and resuming from :meth:`state_dict`
(seed, epoch, batches already consumed) gives exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral, Number

import numpy as np

from cnnlab import backend
from cnnlab.autograd import Tensor
from cnnlab.data.transforms import rng_context

__all__ = ["DataLoader", "default_collate"]


def _as_batch_array(values: list) -> np.ndarray:
    first = values[0]
    if isinstance(first, Tensor):
        values = [backend.to_numpy(v.array) for v in values]
        first = values[0]
    if isinstance(first, (bool, np.bool_)):
        return np.asarray(values, dtype=bool)
    if isinstance(first, (Integral, np.integer)):
        return np.asarray(values, dtype=np.int64)
    if isinstance(first, Number):
        return np.asarray(values, dtype=backend.get_default_dtype())
    return np.stack([np.asarray(v) for v in values])


def default_collate(samples: list) -> tuple[np.ndarray, ...]:
    """Stack a list of samples (tuples of arrays/numbers) field by field.

    Shape:
        - samples: N tuples ``(image (C, H, W), label)``; output: ``(images (N, C, H, W),
          labels (N,) int64)``; ints become int64, floats the default dtype
    """
    if not isinstance(samples[0], (tuple, list)):
        return (_as_batch_array(samples),)
    return tuple(_as_batch_array(list(field)) for field in zip(*samples))


class DataLoader:
    """Iterate over ``dataset`` in batches of Tensors: ``(images (N, C, H, W), labels (N,))``.

    Args:
        batch_size: samples per batch.
        shuffle: a new seeded permutation each epoch.
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        seed: base seed of the order and augmentation; if None, drawn from ``generator`` or,
            failing that, from ``cnnlab.backend.default_rng()`` (so ``manual_seed`` fixes it).
        generator: a NumPy Generator to draw the seed from.
        num_workers: threads building batches (0 or 1: one background thread).
        prefetch: batches built ahead of the consumer; 0 loads in the calling thread.
        collate_fn: ``list of samples -> tuple of arrays``; disables the vectorised path.

    Datasets with ``get_batch(indices, rng)`` (array datasets whose transforms have a batch
    form) are gathered with one fancy index per batch instead of a loop over samples.
    Each batch's augmentation draws from its own generator, seeded by (seed, epoch, batch).

    Shape:
        - yields: ``(images (N, C, H, W) float32, labels (N,) int64)`` Tensors, N =
          ``batch_size`` (smaller for the last batch unless ``drop_last``)
    """

    def __init__(
        self,
        dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        generator: np.random.Generator | None = None,
        num_workers: int = 0,
        prefetch: int = 2,
        collate_fn=None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        if num_workers < 0 or prefetch < 0:
            raise ValueError(
                f"DataLoader: need num_workers, prefetch >= 0, got {num_workers}, {prefetch}"
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.num_workers = num_workers
        self.prefetch = prefetch
        self.collate_fn = collate_fn
        if seed is None:
            seed = int((generator or backend.default_rng()).integers(2**63))
        self.seed = int(seed)
        self._epoch = 0  # the epoch the next __iter__ runs
        self._skip = 0  # batches of that epoch already consumed (after load_state_dict)
        self._position = None  # (epoch, batches consumed) of the live iterator

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    # ------------------------------------------------------------------ state
    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration run epoch ``epoch`` from its first batch."""
        self._epoch, self._skip, self._position = int(epoch), 0, None

    def state_dict(self) -> dict:
        """Where the stream stands: resuming from it yields the batches not yet consumed."""
        if self._position is not None:
            epoch, done = self._position
            if done < len(self):
                return {"seed": self.seed, "epoch": epoch, "batch": done}
        return {"seed": self.seed, "epoch": self._epoch, "batch": self._skip}

    def load_state_dict(self, state: dict) -> None:
        self.seed = int(state["seed"])
        self._epoch, self._skip, self._position = int(state["epoch"]), int(state["batch"]), None

    # ------------------------------------------------------------------ batches
    def _order(self, epoch: int) -> np.ndarray:
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, epoch]).permutation(n)

    def _batch_indices(self, order: np.ndarray, b: int) -> np.ndarray:
        return order[b * self.batch_size : (b + 1) * self.batch_size]

    def _load(self, indices: np.ndarray, epoch: int, b: int) -> tuple:
        rng = np.random.default_rng([self.seed, epoch, b, 1])
        arrays = None
        get_batch = getattr(self.dataset, "get_batch", None)
        if self.collate_fn is None and get_batch is not None:
            arrays = get_batch(indices, rng)
        if arrays is None:
            with rng_context(rng):
                samples = [self.dataset[int(i)] for i in indices]
            arrays = (self.collate_fn or default_collate)(samples)
        return tuple(a if isinstance(a, Tensor) else Tensor(a) for a in arrays)

    def __iter__(self):
        epoch, start = self._epoch, self._skip
        self._epoch, self._skip = epoch + 1, 0
        self._position = (epoch, start)
        return _LoaderIterator(self, epoch, start)


class _LoaderIterator:
    """Yields one epoch's batches; with ``prefetch`` a thread pool builds the next ones."""

    def __init__(self, loader: DataLoader, epoch: int, start: int) -> None:
        self.loader = loader
        self.epoch = epoch
        self.order = loader._order(epoch)
        self.next_batch = start
        self.num_batches = len(loader)
        self.pending: deque = deque()
        self.pool = None
        if loader.prefetch > 0:
            workers = max(1, loader.num_workers)
            self.pool = ThreadPoolExecutor(workers, thread_name_prefix="cnnlab-loader")
            self.ahead = max(loader.prefetch, workers)
            self.submitted = start
            self._fill()

    def _fill(self) -> None:
        while len(self.pending) < self.ahead and self.submitted < self.num_batches:
            b = self.submitted
            idx = self.loader._batch_indices(self.order, b)
            self.pending.append(self.pool.submit(self.loader._load, idx, self.epoch, b))
            self.submitted += 1

    def __iter__(self):
        return self

    def __next__(self) -> tuple:
        if self.next_batch >= self.num_batches:
            self.close()
            raise StopIteration
        b = self.next_batch
        try:
            if self.pool is None:
                idx = self.loader._batch_indices(self.order, b)
                batch = self.loader._load(idx, self.epoch, b)
            else:
                batch = self.pending.popleft().result()  # re-raises a worker's exception
                self._fill()
        except BaseException:
            self.close()  # a failed epoch is over: later calls raise StopIteration
            raise
        self.next_batch = b + 1
        self.loader._position = (self.epoch, self.next_batch)
        return batch

    def close(self) -> None:
        """End the epoch here: stop the worker threads and cancel batches not yet built."""
        self.num_batches = min(self.num_batches, self.next_batch)
        if self.pool is not None:
            for f in self.pending:
                f.cancel()
            self.pending.clear()
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

"""DataLoader: batches of Tensors, seeded shuffling, samplers, vectorised gathering, prefetch.

Every epoch's order and every batch's augmentation come from generators derived from
``(seed, epoch)`` and ``(seed, epoch, batch)``, so an epoch is reproducible on its own,
batches can be built in any order by any thread, and resuming from :meth:`state_dict`
(seed, epoch, batches already consumed) gives exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral

import numpy as np

from cnnlab import backend
from cnnlab.autograd import Tensor
from cnnlab.data.collate import _arrays_to_tensors, default_collate, default_convert
from cnnlab.data.dataset import IterableDataset, _resolve_generator
from cnnlab.data.sampler import RandomSampler, SequentialSampler
from cnnlab.data.transforms import rng_context

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]


def get_worker_info():
    """None: cnnlab's workers are threads of this process, which see the dataset directly
    (PyTorch returns None in the main process too)."""
    return None


class DataLoader:
    """Iterate over ``dataset`` in batches, with PyTorch's arguments.

    Args:
        batch_size: samples per batch; None yields samples one by one, unbatched.
        shuffle: a new seeded permutation each epoch.
        sampler: an iterable of indices (mutually exclusive with ``shuffle``).
        batch_sampler: an iterable of index lists (exclusive with batch_size, shuffle,
            sampler and drop_last).
        num_workers: threads building batches (0: one background thread when ``prefetch``).
        collate_fn: ``list of samples -> batch``; NumPy arrays in a tuple or list it returns
            become Tensors. Default :func:`default_collate`.
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        generator: a NumPy Generator (or int) to draw the shuffling seed from.
        prefetch_factor: batches built ahead per worker (sets ``prefetch``).
        worker_init_fn: called with each worker's id when an epoch starts (workers > 0).
        pin_memory: accepted for PyTorch scripts, as are ``timeout``,
            ``multiprocessing_context``, ``persistent_workers``, ``pin_memory_device`` and
            ``in_order``; they change nothing here (the workers are threads and memory is
            host memory).
        seed: base seed of the order and augmentation, fixed for the loader's life; if None,
            each epoch draws its own when it starts, from ``generator`` or, failing that,
            from ``cnnlab.backend.default_rng()``, as PyTorch's sampler does (so a
            ``manual_seed`` made before an epoch starts fixes that epoch's order).
        prefetch: batches built ahead of the consumer; 0 loads in the calling thread.

    Every epoch's order and every batch's augmentation come from generators derived from
    ``(seed, epoch)`` and ``(seed, epoch, batch)``. Datasets with ``get_batch(indices, rng)``
    (array datasets whose transforms have a batch form) are gathered with one fancy index
    per batch instead of a loop over samples.

    Shape:
        - yields: ``[images (N, C, H, W) float32, labels (N,) int64]`` Tensors, N =
          ``batch_size`` (smaller for the last batch unless ``drop_last``)
    """

    def __init__(
        self,
        dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler=None,
        batch_sampler=None,
        num_workers: int = 0,
        collate_fn=None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn=None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
        seed: int | None = None,
        prefetch: int = 2,
    ) -> None:
        _check_options(dataset, batch_size, shuffle, sampler, batch_sampler, drop_last)
        if num_workers < 0 or prefetch < 0:
            raise ValueError(
                f"DataLoader: need num_workers, prefetch >= 0, got {num_workers}, {prefetch}"
            )
        if prefetch_factor is not None:
            if num_workers == 0:
                raise ValueError(
                    "DataLoader: prefetch_factor option could only be specified in "
                    "multiprocessing: let num_workers > 0 to enable it"
                )
            prefetch = prefetch_factor * num_workers
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = drop_last
        self.num_workers = num_workers
        self.prefetch = prefetch
        self.collate_fn = collate_fn
        self.worker_init_fn = worker_init_fn
        self.pin_memory, self.timeout = pin_memory, timeout
        self.persistent_workers = persistent_workers
        self._user_sampler = sampler
        self.batch_sampler = batch_sampler
        if sampler is None and not isinstance(dataset, IterableDataset):
            sampler = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
        self.sampler = sampler  # PyTorch's attribute; the order itself is seeded below
        # without a seed, each epoch draws one as it starts, as PyTorch's sampler draws its
        # order then: a torch.manual_seed() before a loop fixes that loop's order, whatever
        # was iterated before (the tutorials peek at a batch, then seed, then train)
        self.generator = generator
        self._seed = None if seed is None else int(seed)
        self._redraw = seed is None  # a new seed each epoch
        self._epoch = 0  # the epoch the next __iter__ runs
        self._skip = 0  # batches of that epoch already consumed (after load_state_dict)
        self._position = None  # (epoch, batches consumed) of the live iterator

    @property
    def seed(self) -> int:
        """Base seed of the order and augmentation: the one given, or, without one, that of
        the epoch under way (drawn here if no epoch has started yet)."""
        if self._seed is None:
            self._seed = self._draw_seed()
        return self._seed

    @seed.setter
    def seed(self, value: int) -> None:
        self._seed, self._redraw = int(value), False

    def _draw_seed(self) -> int:
        g = self.generator
        rng = backend.default_rng() if g is None else _resolve_generator(g)
        return int(rng.integers(2**63))

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)  # TypeError if the stream has no length, as in PyTorch
        elif self.batch_sampler is not None:
            return len(self.batch_sampler)
        else:
            n = len(self._user_sampler if self._user_sampler is not None else self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    # ------------------------------------------------------------------ state
    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration run epoch ``epoch`` from its first batch."""
        self._epoch, self._skip, self._position = int(epoch), 0, None

    def state_dict(self) -> dict:
        """Where the stream stands: resuming from it yields the batches not yet consumed."""
        state = {"seed": self.seed, "epoch": self._epoch, "batch": self._skip}
        if self._position is not None:
            epoch, done = self._position
            if done < len(self):
                state.update(epoch=epoch, batch=done)
        if self._redraw:  # later epochs draw their seeds (from the restored generator)
            state["redraw"] = True
        return state

    def load_state_dict(self, state: dict) -> None:
        self.seed = int(state["seed"])
        self._redraw = bool(state.get("redraw", False))
        self._epoch, self._skip, self._position = int(state["epoch"]), int(state["batch"]), None

    # ------------------------------------------------------------------ batches
    def _order(self, epoch: int) -> np.ndarray:
        if self._user_sampler is not None:
            return np.fromiter((int(i) for i in self._user_sampler), dtype=np.int64)
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, epoch]).permutation(n)

    def _epoch_batches(self, epoch: int) -> list:
        """This epoch's batches as index arrays (one index each when ``batch_size`` is None)."""
        if self.batch_sampler is not None:
            return [np.asarray(list(b), dtype=np.int64) for b in self.batch_sampler]
        order = self._order(epoch)
        size = 1 if self.batch_size is None else self.batch_size
        stop = len(order) - len(order) % size if self.drop_last else len(order)
        return [order[i : i + size] for i in range(0, stop, size)]

    def _load(self, indices: np.ndarray, epoch: int, b: int):
        rng = np.random.default_rng([self.seed, epoch, b, 1])
        if self.batch_size is None and self.batch_sampler is None:
            with rng_context(rng):
                return (self.collate_fn or default_convert)(self.dataset[int(indices[0])])
        get_batch = getattr(self.dataset, "get_batch", None)
        arrays = None
        if self.collate_fn is None and get_batch is not None:
            arrays = get_batch(indices, rng)
        if arrays is not None:
            return [a if isinstance(a, Tensor) else Tensor(a) for a in arrays]
        with rng_context(rng):
            samples = [self.dataset[int(i)] for i in indices]
        if self.collate_fn is None:
            return default_collate(samples)
        return _arrays_to_tensors(self.collate_fn(samples))

    def __iter__(self):
        if isinstance(self.dataset, IterableDataset):
            return _iterate_stream(self)
        epoch, start = self._epoch, self._skip
        if self._redraw and start == 0:  # a new epoch: a new seed, drawn in this thread
            self._seed = self._draw_seed()
        self._epoch, self._skip = epoch + 1, 0
        self._position = (epoch, start)
        if self.worker_init_fn is not None and self.num_workers > 0:
            for worker_id in range(self.num_workers):
                self.worker_init_fn(worker_id)
        return _LoaderIterator(self, epoch, start)


def _check_options(dataset, batch_size, shuffle, sampler, batch_sampler, drop_last) -> None:
    """PyTorch's rules on which DataLoader options go together (same messages)."""
    if batch_size is not None and (
        not isinstance(batch_size, Integral) or isinstance(batch_size, bool) or batch_size < 1
    ):
        raise ValueError(f"DataLoader: batch_size must be >= 1 or None, got {batch_size!r}")
    if isinstance(dataset, IterableDataset):
        if shuffle:
            raise ValueError(
                f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                f"shuffle={shuffle}"
            )
        if sampler is not None or batch_sampler is not None:
            raise ValueError(
                "DataLoader with IterableDataset: expected no sampler or batch_sampler"
            )
    if sampler is not None and shuffle:
        raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None and (
        batch_size != 1 or shuffle or sampler is not None or drop_last
    ):
        raise ValueError(
            "DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
            "sampler, and drop_last"
        )
    if batch_size is None and drop_last:
        raise ValueError(
            "DataLoader: batch_size=None option disables auto-batching and is mutually "
            "exclusive with drop_last"
        )


def _iterate_stream(loader: DataLoader):
    """Batches of an IterableDataset, in the calling thread, in the order it yields."""
    collate = loader.collate_fn or default_collate
    if loader.batch_size is None:
        for sample in loader.dataset:
            yield (loader.collate_fn or default_convert)(sample)
        return
    batch = []
    for sample in loader.dataset:
        batch.append(sample)
        if len(batch) == loader.batch_size:
            yield _arrays_to_tensors(collate(batch))
            batch = []
    if batch and not loader.drop_last:
        yield _arrays_to_tensors(collate(batch))


class _LoaderIterator:
    """Yields one epoch's batches; with ``prefetch`` a thread pool builds the next ones."""

    def __init__(self, loader: DataLoader, epoch: int, start: int) -> None:
        self.loader = loader
        self.epoch = epoch
        self.batches = loader._epoch_batches(epoch)
        self.next_batch = start
        self.num_batches = len(self.batches)
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
            idx = self.batches[b]
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
                batch = self.loader._load(self.batches[b], self.epoch, b)
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

"""The models a lab serves: those the server was started with (its command line's model, the
runs' checkpoints; the zoo only with ``allow_zoo``), loaded on first use within a memory budget
and kept in a small cache, and the one lock that requests run under. A long job works on its
own copy of a model (:meth:`Lab.copy`), outside the lock, so requests keep being answered
while it runs."""

from __future__ import annotations

import copy
import threading
from contextlib import contextmanager

from cnnlab.serve.api import Loaded
from cnnlab.serve.catalogue import list_choices
from cnnlab.serve.encode import BadInput

__all__ = ["MEMORY_BUDGET", "Lab", "model_bytes"]

MEMORY_BUDGET = 2 * 1024**3  # bytes of parameters and buffers the loaded models may hold


def model_bytes(model) -> int:
    """Bytes held by a model's parameters and buffers."""
    return sum(int(t.array.nbytes) for t in [*model.parameters(), *model.buffers()])


class Lab:
    """The models on offer (by id) with a cache of loaded ones and the one request lock.

    ``allow_zoo`` offers the zoo's untrained models too (otherwise only the command line's
    model and the runs' checkpoints); the models held at once (the cache and a running job's
    copy) stay within ``memory_budget`` bytes of parameters and buffers: the oldest is dropped
    to make room and a model that alone exceeds it is refused."""

    def __init__(
        self,
        runs=None,
        checkpoint=None,
        model=None,
        pretrained=False,
        cache=2,
        allow_zoo=False,
        memory_budget=MEMORY_BUDGET,
        script=None,
    ):
        self.choices, self.default = list_choices(
            runs, checkpoint, model, pretrained, allow_zoo=allow_zoo, script=script
        )
        self._by_id = {c.id: c for c in self.choices}
        self._cache: dict = {}
        self._size = cache
        self.budget = int(memory_budget)
        self.job_bytes = 0  # the running job's copy, counted against the budget
        self.lock = threading.Lock()

    def catalogue(self) -> dict:
        return {"models": [c.public() for c in self.choices], "default": self.default}

    @contextmanager
    def use(self, model_id: str | None):
        """The loaded model ``model_id`` (default: the server's), held under the lock."""
        from cnnlab.models.loading import open_model

        mid = model_id or self.default
        if not isinstance(mid, str):
            raise BadInput(f"model: expected an id (a string), got {type(mid).__name__}")
        if mid not in self._by_id:
            raise BadInput(f"model: unknown id {mid!r:.80}; GET /api/models lists the choices")
        with self.lock:
            if mid not in self._cache:
                self._load(mid, open_model)
            m = self._cache[mid]
            m.info.model.eval()
            yield m

    def _free(self) -> int:
        held = sum(m.bytes for m in self._cache.values()) + self.job_bytes
        return self.budget - held

    def _load(self, mid: str, open_model) -> None:
        c = self._by_id[mid]
        mb = 1024**2
        if c.checkpoint is not None:
            size = c.checkpoint.stat().st_size if c.checkpoint.exists() else 0
            if size > self.budget:  # the file's tensors are (about) the model's weights
                raise BadInput(
                    f"model {mid}: its checkpoint holds {size // mb} MB, more than the "
                    f"server's memory budget of {self.budget // mb} MB (--memory-budget)"
                )
        try:  # a checkpoint may have changed on disk since it was listed
            if c.checkpoint is not None:
                info = open_model(checkpoint=c.checkpoint, script=c.script)
            else:
                info = open_model(name=c.name, pretrained=c.pretrained)
        except (OSError, ValueError) as e:  # the loaders' one-line errors name the file
            raise BadInput(f"model {mid}: cannot be opened: {' '.join(str(e).split())}") from None
        need = model_bytes(info.model)
        if need > self.budget - self.job_bytes:
            raise BadInput(
                f"model {mid}: needs {need // mb} MB, more than the {self._free() // mb} MB "
                f"left of the server's memory budget of {self.budget // mb} MB (--memory-budget)"
            )
        while self._cache and (len(self._cache) >= self._size or self._free() < need):
            self._cache.pop(next(iter(self._cache)))
        loaded = Loaded(mid, info)
        loaded.bytes = need
        self._cache[mid] = loaded

    def copy(self, model_id: str | None) -> Loaded:
        """A private copy of model ``model_id`` for a job (its weights duplicated, counted
        against the budget until :meth:`release`); requests may use the original meanwhile."""
        with self.use(model_id) as m:
            if m.bytes > self._free():
                mb = 1024**2
                raise BadInput(
                    f"model {m.id}: a job's copy needs {m.bytes // mb} MB, more than the "
                    f"{self._free() // mb} MB left of the memory budget"
                )
            mine = copy.copy(m)
            mine.info = copy.copy(m.info)
            mine.info.model = copy.deepcopy(m.info.model)
            self.job_bytes += m.bytes
            return mine

    def release(self, m: Loaded) -> None:
        """A job's copy is gone: its bytes no longer count against the budget."""
        with self.lock:
            self.job_bytes = max(0, self.job_bytes - m.bytes)

"""Long work in the background (class models): a job runs in its own thread beside the
request path, reports progress, can be cancelled, and keeps its result until a few newer jobs
replace it. One job runs at a time: starting another while it runs raises :class:`Busy`
(HTTP 409). Clients start a job, poll its status and fetch the result from the status."""

from __future__ import annotations

import itertools
import threading
import traceback

__all__ = ["Busy", "Cancelled", "Jobs"]


class Cancelled(Exception):
    """Raised inside a job's work by its progress callback once the job is cancelled."""


class Busy(Exception):
    """A job is already running (HTTP 409)."""


class _Job:
    def __init__(self, id: str) -> None:
        self.id, self.state, self.done, self.total = id, "running", 0, 0
        self.result = self.error = None
        self.cancel = threading.Event()

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = int(done), int(total)
        if self.cancel.is_set():
            raise Cancelled

    def status(self) -> dict:
        out = {"job": self.id, "state": self.state, "done": self.done, "total": self.total}
        if self.result is not None:
            out["result"] = self.result
        if self.error is not None:
            out["error"] = self.error
        return out


class Jobs:
    """Background jobs by id; at most ``keep`` are remembered (the oldest finished go)."""

    def __init__(self, keep: int = 8) -> None:
        self._jobs: dict = {}
        self._ids = itertools.count(1)
        self._keep = keep
        self._lock = threading.Lock()

    def check_idle(self) -> None:
        """Raise :class:`Busy` if a job is running."""
        with self._lock:
            running = [j.id for j in self._jobs.values() if j.state == "running"]
        if running:
            raise Busy(f"job {running[0]} is still running: wait for it or cancel it")

    def start(self, work) -> str:
        """Run ``work(progress)`` in a thread; returns the job's id. Raises :class:`Busy`
        while another job runs."""
        with self._lock:
            running = [j.id for j in self._jobs.values() if j.state == "running"]
            if running:
                raise Busy(f"job {running[0]} is still running: wait for it or cancel it")
            job = _Job(f"job{next(self._ids)}")
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if j.state != "running"]
            for old in finished[: max(0, len(self._jobs) - self._keep)]:
                del self._jobs[old.id]

        def run():
            try:
                job.result = work(job.progress)
                job.state = "done"
            except Cancelled:
                job.state = "cancelled"
            except Exception as e:  # reported to the client, the server goes on
                job.error, job.state = str(e) or type(e).__name__, "error"
                traceback.print_exc()  # the server's log has the details, the page a line

        threading.Thread(target=run, daemon=True, name=job.id).start()
        return job.id

    def get(self, id: str) -> _Job | None:
        with self._lock:
            return self._jobs.get(id)

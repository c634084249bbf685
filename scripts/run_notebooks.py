"""Re-execute the lecture notebooks top to bottom and save them in place with their outputs.

    python3 scripts/run_notebooks.py [notebook.ipynb ...]   (default: docs/lectures/*.ipynb)

Each notebook runs in a fresh kernel whose working directory is the notebook's folder (as in
Jupyter) and which imports cnnlab from this checkout. A cell that raises stops that notebook
with the error and the script exits 1; the notebook is then left unchanged on disk.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parents[1]
LECTURES = ROOT / "docs" / "lectures"


def execute(path: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """Run ``path`` in a fresh python3 kernel; returns the executed notebook (not saved)."""
    nb = nbformat.read(path, as_version=4)
    env_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env_path) if p)
    try:
        # no timings and one stream per cell: a re-run changes only what the cells show
        client = nbclient.NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            record_timing=False,
            coalesce_streams=True,
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
    finally:
        if env_path is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = env_path
    return nb


def main(argv: list[str]) -> int:
    paths = [Path(p) for p in argv] or sorted(LECTURES.glob("*.ipynb"))
    failed = 0
    for path in paths:
        start = time.perf_counter()
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            nb = execute(path)
        except nbclient.exceptions.CellExecutionError as err:
            failed += 1
            print(f"{path}: FAILED\n{err}", file=sys.stderr)
            continue
        nbformat.write(nb, path)
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the kernel, once it has exited
        cpu = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
        size = path.stat().st_size / 1024
        print(f"{path.name}: {time.perf_counter() - start:.1f} s ({cpu:.1f} s CPU), {size:.0f} KiB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The malloc tuning: freed large arrays are reused (no fresh pages), and the user's own
setting (or CNNLAB_MALLOC=0) is left alone. Each case runs in a fresh process: the tuning
happens once per process, when the first kernel is chosen."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc")

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# allocate, touch and free the same 8 MiB arrays the way a training step does, after the
# first kernel call; print the page faults of the last rounds and the status line
_CODE = """
import resource, numpy as np, cnnlab, cnnlab.nn.functional as F
from cnnlab import kernels
F.relu(cnnlab.tensor(np.ones((2, 3), np.float32)))
def rounds(n):
    for _ in range(n):
        a = [np.ones((128, 16, 32, 32), np.float32) for _ in range(6)]
        del a
rounds(3)
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
rounds(10)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
print(kernels.info()["malloc"])
"""


def _run(**env) -> tuple[int, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    clean.pop("CNNLAB_MALLOC", None)
    out = subprocess.run(
        [sys.executable, "-c", _CODE],
        cwd=_ROOT,
        env={**clean, "PYTHONPATH": _ROOT, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    faults, status = out.stdout.strip().splitlines()
    return int(faults), status


def test_freed_large_arrays_are_reused_without_page_faults():
    faults, status = _run()
    assert "set by cnnlab" in status
    # 10 rounds of 6 x 8 MiB = 480 MiB of arrays: 120,000 pages if each were fresh
    assert faults < 500, faults


def test_cnnlab_malloc_0_leaves_glibc_alone():
    faults, status = _run(CNNLAB_MALLOC="0")
    assert status == "left alone: CNNLAB_MALLOC=0"
    assert faults > 10_000  # glibc's default maps fresh pages every round: the test can fail


def test_a_users_own_malloc_setting_wins():
    _, status = _run(MALLOC_TRIM_THRESHOLD_="1000000")
    assert status == "left alone: set by the user (MALLOC_TRIM_THRESHOLD_)"

"""oneDNN's threads: one OpenMP runtime, a thread count per calling thread, shared with
PyTorch; kernels called from several Python threads at once (a stream and plans each)."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from cnnlab.kernels import onednn
from tests.helpers import requires_torch, seeded, torch

pytestmark = pytest.mark.skipif(
    not onednn.available(), reason=f"oneDNN kernels unavailable: {onednn.why_unavailable()}"
)


def test_set_num_threads_round_trip_and_bad_values():
    before = onednn.get_num_threads()
    try:
        onednn.set_num_threads(1)
        assert onednn.get_num_threads() == 1 == onednn.info()["threads"]
    finally:
        onednn.set_num_threads(before)
    with pytest.raises(ValueError, match="expected a positive int, got 0"):
        onednn.set_num_threads(0)


@requires_torch
def test_torch_shares_the_one_libgomp():
    runtimes = onednn.openmp_runtimes()
    assert len([p for p in runtimes if os.path.basename(p).startswith("libgomp.so")]) == 1
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert onednn.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_kernels_from_several_threads_at_once_agree():
    rng = seeded(0)
    x = rng.standard_normal((4, 8, 12, 12)).astype(np.float32)
    w = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    a = {"stride": (1, 1), "padding": (1, 1, 1, 1), "dilation": (1, 1), "groups": 1}
    want = onednn.conv2d_forward(x, w, None, **a)
    got, errors = [], []

    def work():
        try:
            for _ in range(5):
                y = onednn.conv2d_forward(x, w, None, **a)
                y2, _, _ = onednn.batch_norm_train_forward(y, None, None, eps=1e-5)
                got.append((y, y2))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    ref_bn, _, _ = onednn.batch_norm_train_forward(want, None, None, eps=1e-5)
    assert len(got) == 15
    for y, y2 in got:
        np.testing.assert_array_equal(y, want)
        np.testing.assert_array_equal(y2, ref_bn)


@pytest.mark.parametrize(
    "env, want",
    [
        ({}, "passive (set by cnnlab)"),
        ({"OMP_WAIT_POLICY": "active"}, "as set: OMP_WAIT_POLICY=active GOMP_SPINCOUNT="),
    ],
)
def test_wait_policy_is_passive_unless_the_user_chose(env, want):
    child_env = {
        k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
    }
    child_env.update(env)
    code = "from cnnlab.kernels import onednn; print(onednn.info()['wait_policy'])"
    out = subprocess.run(
        [sys.executable, "-c", code], env=child_env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == want

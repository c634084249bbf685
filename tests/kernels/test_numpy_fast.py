"""The numpy backend's own pieces: shared padding columns, padded GEMM rows, the weight
gradient's GEMM shapes and the GIL (the kernels' results are in test_backends.py)."""

import sys
import threading
import time

import numpy as np
import pytest

from cnnlab.kernels.numpy_fast.columns import (
    _matmul_small_out,
    _pad_rows,
    _shared_pad,
    _weight_gemm,
)
from tests.helpers import seeded


def test_shared_pad_columns():
    assert _shared_pad((1, 1, 1, 1), (3, 3), (1, 1)) == 1
    assert _shared_pad((0, 0, 1, 2), (3, 4), (1, 1)) == 1  # the smaller side
    assert _shared_pad((3, 3, 3, 3), (3, 3), (1, 1)) == 2  # no more than the span - 1
    assert _shared_pad((2, 2, 2, 2), (3, 3), (2, 2)) == 2
    assert _shared_pad((1, 1, 0, 0), (3, 3), (1, 1)) == 0


def test_pad_rows_adds_zero_filters_to_a_multiple_of_8():
    w = seeded(0).standard_normal((1, 6, 25)).astype(np.float32)
    out = _pad_rows(w)
    assert out.shape == (1, 8, 25) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, :6], w)
    assert not out[:, 6:].any()
    for shape in [(1, 8, 9), (1, 1, 9), (2, 3, 9), (1, 70, 9)]:  # aligned, 1 row, grouped, big
        a = np.ones(shape)
        assert _pad_rows(a) is a


@pytest.mark.parametrize("k, o", [(25, 6), (27, 16), (64, 32)])  # per image; per image; one
def test_weight_gemm_matches_one_product(k, o):
    rng = seeded(0)
    m, size = 3, 40
    cols = rng.standard_normal((1, k, m * size))
    gb = rng.standard_normal((1, o, m * size))
    np.testing.assert_allclose(_weight_gemm(cols, gb, m), cols @ gb.swapaxes(1, 2), rtol=1e-12)


@pytest.mark.slow  # depends on how the OS schedules threads: not in the default run
def test_weight_grad_gemm_lets_other_threads_run():
    # np.matmul holds the GIL through BLAS when the product has under 500 elements (a
    # 25 x 6 dL/dW), which serialised the thread pool; the product must let go of it.
    # With forced GIL switches off, the other thread (which gives the GIL back after every
    # step) can only count while this thread is inside a call that released the GIL.
    rng = seeded(0)
    a = rng.standard_normal((1, 25, 1 << 18)).astype(np.float32)
    b = rng.standard_normal((1, 6, 1 << 18)).astype(np.float32).swapaxes(1, 2)
    count, stop, ready = [0], threading.Event(), threading.Event()

    def spin():
        ready.set()
        while not stop.is_set():
            count[0] += 1
            time.sleep(0)

    interval = sys.getswitchinterval()
    t = threading.Thread(target=spin)
    t.start()
    ready.wait()
    sys.setswitchinterval(1000.0)
    try:
        before = count[0]
        for _ in range(10):
            out = _matmul_small_out(a, b)
        during = count[0] - before
    finally:
        sys.setswitchinterval(interval)
        stop.set()
        t.join()
    np.testing.assert_allclose(out, np.matmul(a, b), rtol=1e-4, atol=1e-2)
    assert during > 0, "the other thread never ran during the GEMMs: the GIL was held"

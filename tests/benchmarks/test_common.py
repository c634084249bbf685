"""The benchmark helpers' bookkeeping (never their timings: those are the benchmarks' job)."""

import numpy as np

from benchmarks.common import interleaved, ratio_range
from benchmarks.profile import _GemmTimer


def test_interleaved_runs_each_function_in_alternation_and_keeps_samples():
    calls = []
    samples = {}
    t = interleaved(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
        repeats=3,
        number=2,
        warmup=1,
        samples=samples,
    )
    assert set(t) == {"a", "b"} and all(v >= 0 for v in t.values())
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] * 3
    assert {k: len(v) for k, v in samples.items()} == {"a": 3, "b": 3}


def test_ratio_range_pairs_samples_of_the_same_repeat():
    samples = {"torch": [1.0, 2.0, 3.0], "cnnlab": [2.0, 2.0, 2.0]}
    assert ratio_range(samples, "torch", "cnnlab") == "0.50-1.50"
    # paired, not sorted: the fastest torch sample goes with its own repeat's cnnlab sample
    samples = {"torch": [1.0, 4.0], "cnnlab": [8.0, 2.0]}
    assert ratio_range(samples, "torch", "cnnlab") == "0.12-2.00"  # sorted pairs: 0.50-0.50


def test_gemm_timer_counts_flops_and_restores_numpy():
    matmul, dot = np.matmul, np.dot
    a, b = np.ones((2, 3, 4), np.float32), np.ones((4, 5), np.float32)
    with _GemmTimer() as gemms:
        np.testing.assert_array_equal(np.matmul(a, b), a @ b)
        out = np.empty((3, 5), np.float32)
        np.dot(a[0], b, out=out)
        np.dot(np.ones(4), np.ones(4))  # a vector product: not a GEMM, not counted
    assert gemms.flops == 2 * 2 * 3 * 4 * 5 + 2 * 3 * 4 * 5
    assert gemms.seconds > 0
    assert np.matmul is matmul and np.dot is dot

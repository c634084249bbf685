"""cnnlab.threads: the batch split over a thread pool gives the sequential answers."""

import threading

import numpy as np
import pytest

import cnnlab
from cnnlab import threads
from cnnlab.ops.conv import conv2d
from tests.helpers import seeded

pytest.importorskip("threadpoolctl")


@pytest.fixture
def pool(monkeypatch):
    """Split even the tiny test arrays; give back the thread count afterwards."""
    before = threads.get_num_threads()
    monkeypatch.setattr(threads, "MIN_WORK", 1)
    yield threads.set_num_threads
    threads.set_num_threads(before)


def test_parts_cover_the_range_in_order():
    for n in range(1, 12):
        for p in range(1, n + 1):
            parts = threads._parts(n, p)
            assert len(parts) == p
            assert parts[0][0] == 0 and parts[-1][1] == n
            assert all(a < b for a, b in parts)
            assert all(parts[i][1] == parts[i + 1][0] for i in range(p - 1))


def test_parallel_for_runs_parts_on_several_threads(pool):
    pool(3)
    seen = []

    def part(a, b):
        seen.append(threading.current_thread().name)
        return list(range(a, b))

    out = threads.parallel_for(10, part, work=10)
    assert [i for chunk in out for i in chunk] == list(range(10))
    assert len(out) == 3
    assert seen.count("MainThread") == 1  # the caller runs one part, the pool the others


def test_parallel_for_is_sequential_when_small_nested_or_single(pool):
    pool(2)
    calls = []

    def inner(a, b):
        calls.append((a, b))

    def outer(a, b):
        threads.parallel_for(4, inner, work=4)  # nested: one call in this worker

    threads.parallel_for(2, outer, work=2)
    assert sorted(calls) == [(0, 4), (0, 4)]
    threads.set_num_threads(1)
    assert threads.parallel_for(5, lambda a, b: (a, b), work=5) == [(0, 5)]


def test_parallel_for_raises_a_workers_error_after_all_finish(pool):
    pool(2)
    done = []

    def part(a, b):
        if a:
            raise ValueError("part failed")
        done.append(a)

    with pytest.raises(ValueError, match="part failed"):
        threads.parallel_for(2, part, work=2)
    assert done == [0]


def _blas_libs():
    libs = threads._blas().lib_controllers
    if not libs:
        pytest.skip("no BLAS library that threadpoolctl controls")
    return libs


def test_blas_held_to_one_thread_only_while_the_pool_runs(pool):
    libs = _blas_libs()
    pool(2)
    for lib in libs:
        lib.set_num_threads(2)
    before = [lib.get_num_threads() for lib in libs]
    inside = []
    threads.parallel_for(2, lambda a, b: inside.append(libs[0].get_num_threads()), work=2)
    assert inside and set(inside) == {1}
    # given back at once: a user's own GEMMs after an op run on all of BLAS's threads
    assert [lib.get_num_threads() for lib in libs] == before


def test_blas_given_back_after_a_training_step(pool):
    libs = _blas_libs()
    pool(2)
    for lib in libs:
        lib.set_num_threads(2)
    rng = seeded(0)
    x = cnnlab.tensor(rng.standard_normal((4, 3, 8, 8)), requires_grad=True)
    w = cnnlab.tensor(rng.standard_normal((5, 3, 3, 3)), requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(libs[0].get_num_threads()))
    conv2d(x, w, padding=1).relu().sum().backward()
    assert seen == [1]  # held through the backward pass
    assert libs[0].get_num_threads() == 2


def test_hold_blas_nests_and_does_nothing_with_one_thread(pool):
    libs = _blas_libs()
    pool(2)
    libs[0].set_num_threads(2)
    with threads.hold_blas():
        with threads.hold_blas():
            assert libs[0].get_num_threads() == 1
        assert libs[0].get_num_threads() == 1  # the outer block still holds it
    assert libs[0].get_num_threads() == 2
    pool(1)
    with threads.hold_blas():
        assert libs[0].get_num_threads() == 2  # one thread: BLAS runs its own threads


def test_set_num_threads_rejects_bad_values():
    with pytest.raises(ValueError, match="positive int"):
        threads.set_num_threads(0)


CONFIGS = [
    ((5, 3, 9, 8), (4, 3, 3, 3), {"padding": 1}),
    ((7, 4, 9, 9), (6, 2, 3, 3), {"stride": 2, "padding": 1, "groups": 2}),
    ((4, 16, 6, 6), (8, 16, 3, 3), {"padding": 1}),  # input gradient as a flipped conv
    ((3, 2, 8, 7), (3, 2, 2, 3), {"dilation": (2, 1), "padding": (1, 0)}),
]


@pytest.mark.parametrize("xs, ws, kw", CONFIGS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_threaded_matches_sequential(pool, xs, ws, kw, dtype):
    rng = seeded(1)
    x0 = rng.standard_normal(xs).astype(dtype)
    w0 = rng.standard_normal(ws).astype(dtype)
    b0 = rng.standard_normal(ws[0]).astype(dtype)
    g = rng.standard_normal(conv2d(x0, w0, b0, **kw).shape).astype(dtype)

    def run():
        x, w, b = (cnnlab.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        y = conv2d(x, w, b, **kw)
        y.backward(cnnlab.tensor(g))
        return y.array, x.grad.array, w.grad.array, b.grad.array

    pool(1)
    seq = run()
    pool(3)
    par = run()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    # the GEMMs see other batch splits (other edge tiles) and dL/dW is summed in parts:
    # equal to rounding, not bit for bit
    for a, b in zip(par, seq):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * np.abs(b).max())


def _threaded_vs_sequential(pool, fn, inputs, grad_seed=2):
    """Run ``fn`` forward and backward with 1 and with 3 threads; return both results."""
    g = None
    results = []
    for n in (1, 3):
        pool(n)
        ts = [cnnlab.tensor(a, requires_grad=True) for a in inputs]
        y = fn(*ts)
        if g is None:
            g = seeded(grad_seed).standard_normal(y.shape).astype(y.dtype)
        y.backward(cnnlab.tensor(g))
        results.append([y.array] + [t.grad.array for t in ts])
    return results


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_threaded_matches_sequential(pool, dtype):
    x = seeded(3).standard_normal((5, 3, 4, 4)).astype(dtype)
    seq, par = _threaded_vs_sequential(pool, lambda t: t.relu(), [x])
    for a, b in zip(par, seq):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("offset", [0.0, 50.0])  # 50: the two-pass fallback
def test_batch_norm_threaded_matches_sequential(pool, training, offset):
    from cnnlab.nn import functional as F

    rng = seeded(4)
    x = (rng.standard_normal((7, 3, 5, 4)) * 0.1 + offset).astype(np.float64)
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    rm, rv = rng.standard_normal(3), rng.random(3) + 0.5

    def bn(xt, wt, bt):
        return F.batch_norm(xt, rm.copy(), rv.copy(), wt, bt, training=training)

    seq, par = _threaded_vs_sequential(pool, bn, [x, w, b])
    for a, b_ in zip(par, seq):
        np.testing.assert_allclose(a, b_, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "kw",
    [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 2, "padding": 1},
        {"kernel_size": 2, "ceil_mode": True},
    ],
)
def test_max_pool_threaded_matches_sequential(pool, kw):
    from cnnlab.nn import functional as F

    x = seeded(5).standard_normal((5, 2, 7, 7)).astype(np.float32)
    seq, par = _threaded_vs_sequential(pool, lambda t: F.max_pool2d(t, **kw), [x])
    for a, b in zip(par, seq):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_pool_works_in_a_forked_child(pool):
    import multiprocessing as mp

    pool(2)
    threads.parallel_for(4, lambda a, b: None, work=4)  # the parent's pool exists now
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as p:
        out = p.apply(_child_parallel_sum, (6,))
    assert out == sum(range(6))


def _child_parallel_sum(n):
    threads.MIN_WORK = 1
    parts = threads.parallel_for(n, lambda a, b: sum(range(a, b)), work=n)
    return sum(parts)


def test_linear_threaded_matches_sequential(pool):
    from cnnlab.nn import functional as F

    rng = seeded(6)
    x, w, b = rng.standard_normal((9, 7)), rng.standard_normal((5, 7)), rng.standard_normal(5)
    seq, par = _threaded_vs_sequential(pool, F.linear, [x, w, b])
    for a, b_ in zip(par, seq):
        np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-12)

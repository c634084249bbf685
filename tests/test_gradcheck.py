"""The user-facing gradient checker must catch wrong backward rules."""

import numpy as np
import pytest

import cnnlab
from cnnlab.autograd import Function
from cnnlab.gradcheck import GradcheckError


class WrongSquare(Function):
    @staticmethod
    def forward(x):
        return x * x, x

    # deliberately wrong: should be 2x
    @staticmethod
    def backward(ctx, g):
        return (g * ctx,)


def test_passes_on_a_correct_function():
    x = cnnlab.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    report = cnnlab.gradcheck(lambda a: (a * a).exp().sum(1), [x])
    assert report.passed and report.checks == 12
    assert "passed" in str(report)


def test_reports_a_wrong_backward_with_its_location():
    x = cnnlab.tensor(np.array([1.0, 2.0, -3.0]), requires_grad=True)
    report = cnnlab.gradcheck(WrongSquare.apply, [x], raise_exception=False)
    assert not report.passed
    assert report.worst_input == 0 and report.worst_index == (2,)
    assert report.analytic == pytest.approx(report.numerical / 2, rel=1e-4)
    with pytest.raises(GradcheckError, match="FAILED"):
        cnnlab.gradcheck(WrongSquare.apply, [x])


def test_random_directions_for_big_inputs_catch_errors_too():
    x = cnnlab.tensor(np.random.default_rng(1).standard_normal(5000), requires_grad=True)
    assert cnnlab.gradcheck(lambda a: a * a, [x], max_elements=100).passed
    report = cnnlab.gradcheck(WrongSquare.apply, [x], max_elements=100, raise_exception=False)
    assert not report.passed and report.worst_index[0] == "direction"


def test_runs_in_float64_even_for_float32_inputs():
    x = cnnlab.tensor(np.array([0.3, 0.7], np.float32), requires_grad=True)
    seen = []

    def f(a):
        seen.append(a.dtype)
        return a.sqrt()

    cnnlab.gradcheck(f, [x])
    assert all(d == np.float64 for d in seen)


def test_only_requested_inputs_are_checked():
    a = cnnlab.tensor(np.ones(2), requires_grad=True)
    b = cnnlab.tensor(np.ones(3))
    report = cnnlab.gradcheck(lambda u, v: u.sum() * v, [a, b])
    assert report.checks == 2

"""compile returns the model; the global switches are checked and recorded."""

import pytest

import cnnlab
from cnnlab import nn


def test_compile_returns_the_model_itself():
    model = nn.Linear(2, 2)
    assert cnnlab.compile(model, mode="reduce-overhead") is model

    @cnnlab.compile()
    def f(x):
        return x + 1

    assert f(1) == 2
    with pytest.raises(RuntimeError, match="either mode or options"):
        cnnlab.compile(model, mode="default", options={})


def test_switches_are_checked_and_recorded():
    before = cnnlab.get_float32_matmul_precision()
    cnnlab.set_float32_matmul_precision("high")
    assert cnnlab.get_float32_matmul_precision() == "high"
    cnnlab.set_float32_matmul_precision(before)
    with pytest.raises(RuntimeError, match="expected one of"):
        cnnlab.set_float32_matmul_precision("low")
    cnnlab.use_deterministic_algorithms(True)
    assert cnnlab.are_deterministic_algorithms_enabled()
    cnnlab.use_deterministic_algorithms(False)
    with pytest.raises(TypeError, match="expected a bool"):
        cnnlab.use_deterministic_algorithms("yes")

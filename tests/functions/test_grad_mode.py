"""no_grad / enable_grad / set_grad_enabled / inference_mode as PyTorch uses them: context
managers, decorators with and without parentheses, and set_grad_enabled's function form."""

import threading

import cnnlab


def _records() -> bool:
    x = cnnlab.ones(2, requires_grad=True)
    return (x * 2).requires_grad


def test_no_grad_as_block_and_as_decorators():
    with cnnlab.no_grad():
        assert not _records()

    @cnnlab.no_grad
    def bare():
        return _records()

    @cnnlab.no_grad()
    def called():
        return _records()

    assert not bare() and not called() and _records()
    assert bare.__name__ == "bare"


def test_enable_grad_inside_no_grad():
    with cnnlab.no_grad():
        with cnnlab.enable_grad():
            assert _records()
        assert not _records()


def test_set_grad_enabled_as_call_block_and_decorator():
    try:
        cnnlab.set_grad_enabled(False)
        assert not cnnlab.is_grad_enabled() and not _records()
    finally:
        cnnlab.set_grad_enabled(True)
    assert _records()
    for mode in (False, True):
        with cnnlab.set_grad_enabled(mode):
            assert _records() is mode
        assert _records()

    @cnnlab.set_grad_enabled(False)
    def f():
        return _records()

    assert cnnlab.is_grad_enabled()  # decorating switched nothing outside f
    assert not f() and _records()


def test_inference_mode_forms():
    assert not cnnlab.is_inference_mode_enabled()
    with cnnlab.inference_mode():
        assert not _records() and cnnlab.is_inference_mode_enabled()
    with cnnlab.inference_mode(False):
        assert _records() and not cnnlab.is_inference_mode_enabled()

    @cnnlab.inference_mode()
    def f():
        return _records()

    @cnnlab.inference_mode
    def g():
        return _records()

    assert not f() and not g() and _records()


def test_modes_are_per_thread():
    seen = []
    with cnnlab.no_grad():
        t = threading.Thread(target=lambda: seen.append(_records()))
        t.start()
        t.join()
    assert seen == [True]

"""The fused recurrent ops: forward against plain NumPy loops, float64 gradient checks of
every input (all gates, initial states, both directions, several layers), the fused backward
against the small-op cells', the thread split and the argument errors."""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab.ops.recurrent import GRULayer, LSTMLayer, RNNLayer
from tests.helpers import seeded

T, B, I, H = 4, 3, 5, 4  # hidden size != input size on purpose


def _sig(a):
    return 1 / (1 + np.exp(-a))


# ------------------------------------------------------------ plain NumPy references
def ref_rnn(x, wi, wh, bi, bh, h, act):
    outs = []
    for t in range(x.shape[0]):
        a = x[t] @ wi.T + bi + h @ wh.T + bh
        h = np.tanh(a) if act == "tanh" else np.maximum(a, 0)
        outs.append(h)
    return np.stack(outs), h


def ref_lstm(x, wi, wh, bi, bh, h, c):
    outs = []
    for t in range(x.shape[0]):
        a = x[t] @ wi.T + bi + h @ wh.T + bh
        i, f, g, o = np.split(a, 4, axis=1)
        c = _sig(f) * c + _sig(i) * np.tanh(g)
        h = _sig(o) * np.tanh(c)
        outs.append(h)
    return np.stack(outs), h, c


def ref_gru(x, wi, wh, bi, bh, h):
    outs = []
    for t in range(x.shape[0]):
        xr, xz, xn = np.split(x[t] @ wi.T + bi, 3, axis=1)
        hr, hz, hn = np.split(h @ wh.T + bh, 3, axis=1)
        r, z = _sig(xr + hr), _sig(xz + hz)
        n = np.tanh(xn + r * hn)
        h = (1 - z) * n + z * h
        outs.append(h)
    return np.stack(outs), h


def _arrays(gates, seed=0, steps=T, batch=B, dtype=np.float64):
    rng = seeded(seed)
    g = gates * H
    shapes = [(steps, batch, I), (g, I), (g, H), (g,), (g,), (batch, H), (batch, H)]
    return [(0.6 * rng.standard_normal(s)).astype(dtype) for s in shapes]


CASES = [("tanh", False), ("tanh", True), ("relu", False), ("relu", True)]


@pytest.mark.parametrize("act,reverse", CASES)
def test_rnn_forward_matches_numpy_loop(act, reverse):
    x, wi, wh, bi, bh, h0, _ = _arrays(1)
    out, h_n = F.rnn_layer(*map(cnnlab.tensor, (x, wi, wh, bi, bh, h0)), act, reverse)
    xs = x[::-1] if reverse else x
    ref, ref_h = ref_rnn(xs, wi, wh, bi, bh, h0, act)
    np.testing.assert_allclose(out.numpy(), ref[::-1] if reverse else ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_n.numpy(), ref_h, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_forward_matches_numpy_loop(reverse):
    arrays = _arrays(4)
    out, h_n, c_n = F.lstm_layer(*map(cnnlab.tensor, arrays), reverse=reverse)
    x, *rest = arrays
    ref, ref_h, ref_c = ref_lstm(x[::-1] if reverse else x, *rest)
    np.testing.assert_allclose(out.numpy(), ref[::-1] if reverse else ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_n.numpy(), ref_h, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c_n.numpy(), ref_c, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reverse", [False, True])
def test_gru_forward_matches_numpy_loop(reverse):
    x, wi, wh, bi, bh, h0, _ = _arrays(3)
    out, h_n = F.gru_layer(*map(cnnlab.tensor, (x, wi, wh, bi, bh, h0)), reverse=reverse)
    ref, ref_h = ref_gru(x[::-1] if reverse else x, wi, wh, bi, bh, h0)
    np.testing.assert_allclose(out.numpy(), ref[::-1] if reverse else ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_n.numpy(), ref_h, rtol=1e-12, atol=1e-12)


def test_absent_biases_and_states_are_zeros():
    x, wi, wh, bi, bh, h0, c0 = _arrays(4)
    z = np.zeros_like
    out, h_n, c_n = F.lstm_layer(cnnlab.tensor(x), cnnlab.tensor(wi), cnnlab.tensor(wh))
    ref, ref_h, ref_c = ref_lstm(x, wi, wh, z(bi), z(bh), z(h0), z(c0))
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c_n.numpy(), ref_c, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------- float64 gradient checks
def _gradcheck(fn, arrays):
    ts = [cnnlab.tensor(a, requires_grad=True) for a in arrays]
    report = cnnlab.gradcheck(fn, ts, atol=1e-6, rtol=1e-5)
    assert report.passed, str(report)


@pytest.mark.parametrize("act,reverse", CASES)
def test_rnn_op_gradcheck(act, reverse):
    x, wi, wh, bi, bh, h0, _ = _arrays(1, seed=1)
    if act == "relu":  # keep pre-activations away from the kink at 0
        x, wi = x * 2, wi * 2
    _gradcheck(
        lambda *a: RNNLayer.apply(*a, nonlinearity=act, reverse=reverse),
        [x, wi, wh, bi, bh, h0],
    )


@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_op_gradcheck_all_gates_and_states(reverse):
    # the packed output (T + 1, B, H) carries h_1..h_T and c_T, so c_n's gradient is checked
    _gradcheck(lambda *a: LSTMLayer.apply(*a, reverse=reverse), _arrays(4, seed=2))


@pytest.mark.parametrize("reverse", [False, True])
def test_gru_op_gradcheck(reverse):
    x, wi, wh, bi, bh, h0, _ = _arrays(3, seed=3)
    _gradcheck(lambda *a: GRULayer.apply(*a, reverse=reverse), [x, wi, wh, bi, bh, h0])


def test_gradcheck_sequence_of_length_one_without_biases():
    x, wi, wh, _, _, h0, c0 = _arrays(4, seed=4, steps=1)
    _gradcheck(lambda x, wi, wh: LSTMLayer.apply(x, wi, wh, None, None, None, None), [x, wi, wh])
    x, wi, wh, _, _, h0, _ = _arrays(3, seed=4, steps=1)
    _gradcheck(lambda x, wi, wh, h: GRULayer.apply(x, wi, wh, None, None, h), [x, wi, wh, h0])


def _stack_weights(gates, layers, dirs, hidden, rng):
    weights = []
    for layer in range(layers):
        fan_in = I if layer == 0 else hidden * dirs
        for _ in range(dirs):
            g = gates * hidden
            shapes = [(g, fan_in), (g, hidden), (g,), (g,)]
            weights.append([0.5 * rng.standard_normal(s) for s in shapes])
    return weights


@pytest.mark.parametrize("mode,gates", [("LSTM", 4), ("GRU", 3), ("RNN_TANH", 1)])
def test_two_layer_bidirectional_stack_gradcheck(mode, gates):
    rng = seeded(5)
    hidden = 3
    weights = _stack_weights(gates, 2, 2, hidden, rng)
    x = rng.standard_normal((3, 2, I))
    h0, c0 = rng.standard_normal((4, 2, hidden)), rng.standard_normal((4, 2, hidden))
    flat = [w for ws in weights for w in ws]
    n = len(flat)

    def fn(x, h0, *rest):
        c0, ws = (rest[0], rest[1:]) if mode == "LSTM" else (None, rest)
        grouped = [ws[k : k + 4] for k in range(0, n, 4)]
        hx = (h0, c0) if mode == "LSTM" else h0
        out, state = F.recurrent(mode, x, hx, grouped, num_layers=2, bidirectional=True)
        parts = [out.reshape(-1)] + [s.reshape(-1) for s in (state if mode == "LSTM" else (state,))]
        return cnnlab.cat(parts)

    _gradcheck(fn, [x, h0, c0, *flat] if mode == "LSTM" else [x, h0, *flat])


# ------------------------------------------------- fused op against the small-op cells
def _composite(mode, x, wi, wh, bi, bh, h, c, reverse):
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    outs = {}
    for t in steps:
        if mode == "LSTM":
            h, c = F.lstm_cell(x[t], (h, c), wi, wh, bi, bh)
        elif mode == "GRU":
            h = F.gru_cell(x[t], h, wi, wh, bi, bh)
        else:
            h = F.rnn_cell(x[t], h, wi, wh, bi, bh, mode)
        outs[t] = h
    out = cnnlab.stack([outs[t] for t in range(x.shape[0])])
    return out, h, c


@pytest.mark.parametrize("mode,gates", [("LSTM", 4), ("GRU", 3), ("tanh", 1), ("relu", 1)])
@pytest.mark.parametrize("reverse", [False, True])
def test_fused_matches_composite_values_and_gradients(mode, gates, reverse):
    arrays = _arrays(gates, seed=6)
    rng = seeded(7)
    results = []
    for fused in (True, False):
        ts = [cnnlab.tensor(a, requires_grad=True) for a in arrays]
        x, wi, wh, bi, bh, h0, c0 = ts
        if not fused:
            out, h_n, c_n = _composite(mode, *ts, reverse)
        elif mode == "LSTM":
            out, h_n, c_n = F.lstm_layer(*ts, reverse=reverse)
        elif mode == "GRU":
            (out, h_n), c_n = F.gru_layer(*ts[:6], reverse=reverse), None
        else:
            (out, h_n), c_n = F.rnn_layer(*ts[:6], mode, reverse), None
        loss = (out * cnnlab.tensor(rng.standard_normal(out.shape))).sum() + h_n.sum()
        if c_n is not None:
            loss = loss + (c_n * c_n).sum()
        loss.backward()
        used = ts if mode == "LSTM" else ts[:6]
        results.append([out.numpy()] + [np.asarray(t.grad) for t in used])
        rng = seeded(7)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_thread_split_matches_one_thread():
    rng = seeded(8)
    x = rng.standard_normal((6, 64, 16)).astype(np.float32)
    wi, wh = rng.standard_normal((128, 16)) * 0.2, rng.standard_normal((128, 32)) * 0.2
    args = [x, wi.astype(np.float32), wh.astype(np.float32)]
    results = []
    prev = cnnlab.get_num_threads()
    try:
        for threads in (1, 2):
            cnnlab.set_num_threads(threads)
            ts = [cnnlab.tensor(a, requires_grad=True) for a in args]
            out, h, c = F.lstm_layer(*ts)
            (out.sum() + c.sum()).backward()
            results.append([out.numpy()] + [np.asarray(t.grad) for t in ts])
    finally:
        cnnlab.set_num_threads(prev)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------ errors
def test_errors_name_the_op_and_the_shapes():
    x, wi, wh, bi, bh, h0, c0 = map(cnnlab.tensor, _arrays(4))
    with pytest.raises(
        ValueError, match=r"lstm_layer: expected weight_ih of shape \(16, 3\), got \(16, 5\)"
    ):
        F.lstm_layer(x[..., :3], wi, wh)
    with pytest.raises(ValueError, match=r"lstm_layer: expected input of shape \(T, B, I\)"):
        F.lstm_layer(x[0], wi, wh)
    with pytest.raises(
        ValueError, match=r"expected an initial state of shape \(3, 4\), got \(2, 4\)"
    ):
        F.lstm_layer(x, wi, wh, bi, bh, h0[:2], c0)
    with pytest.raises(ValueError, match=r"gru_layer: expected weight_hh of shape \(3\*H, H\)"):
        F.gru_layer(x, wi, wh)
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        F.rnn_layer(x, wi[:4], wh[:4], nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="mode must be one of"):
        F.recurrent("LSTMX", x, None, [])

"""ONNX export rules of the recurrent layer ops (one direction of one layer each).

ONNX's LSTM and GRU keep their gates in another order than PyTorch (and cnnlab): LSTM
``i, o, f, c`` against ``i, f, g, o``, GRU ``z, r, h`` against ``r, z, n``; the weight rows are
reordered into constants. PyTorch's GRU applies the reset gate after the recurrent product,
ONNX's ``linear_before_reset=1``. ONNX returns ``Y (T, directions, B, H)``; cnnlab's LSTM op
returns ``(T + 1, B, H)`` (the hidden states, then ``c_T``) and the GRU op ``(T, B, H)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RECURRENT_EXPORTERS"]

# the row blocks of PyTorch's weights in ONNX's gate order
_LSTM_ORDER = (0, 3, 1, 2)  # i, o, f, c(=g)
_GRU_ORDER = (1, 0, 2)  # z, r, h(=n)


def _blocks(a: np.ndarray, order: tuple) -> np.ndarray:
    parts = np.split(a, len(order), axis=0)
    return np.concatenate([parts[k] for k in order], axis=0)


def _recurrent(op: str, order: tuple, states: int):
    def rule(b, args, kw, out):
        x, w_ih, w_hh, b_ih, b_hh, *init = args
        h = w_hh.shape[1]
        dt = w_ih.numpy().dtype
        w = b.const(_blocks(w_ih.numpy(), order)[None])
        r = b.const(_blocks(w_hh.numpy(), order)[None])
        biases = [
            np.zeros(len(order) * h, dt) if t is None else _blocks(t.numpy(), order)
            for t in (b_ih, b_hh)
        ]
        names = [b.name(x), w, r, b.const(np.concatenate(biases)[None]), ""]
        for s in init[:states]:  # initial_h (and initial_c): (1, B, H)
            names.append("" if s is None else b.node("Unsqueeze", [b.name(s), b.ints([0])])[0])
        while names[-1] == "":  # optional inputs left out at the end
            names.pop()
        attrs = {"hidden_size": int(h), "direction": "reverse" if kw.get("reverse") else "forward"}
        if op == "GRU":
            attrs["linear_before_reset"] = 1
        outs = b.node(op, names, outputs=3 if op == "LSTM" else 2, **attrs)
        y = b.node("Squeeze", [outs[0], b.ints([1])])[0]  # (T, B, H)
        if op == "LSTM":  # then c_T, as cnnlab's op returns it
            return b.node("Concat", [y, outs[2]], axis=0)[0]
        return y

    return rule


RECURRENT_EXPORTERS = {
    "LSTMLayer": _recurrent("LSTM", _LSTM_ORDER, 2),
    "GRULayer": _recurrent("GRU", _GRU_ORDER, 1),
}

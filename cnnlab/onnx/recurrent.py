"""ONNX's recurrent ops both ways: export rules of cnnlab's layer ops (one direction of one
layer each), and import of ONNX LSTM/GRU/RNN nodes as cnnlab's ``nn.LSTM/GRU/RNN``.

ONNX's LSTM and GRU keep their gates in another order than PyTorch (and cnnlab): LSTM
``i, o, f, c`` against ``i, f, g, o``, GRU ``z, r, h`` against ``r, z, n``; the weight rows are
reordered into constants. PyTorch's GRU applies the reset gate after the recurrent product,
ONNX's ``linear_before_reset=1``. ONNX returns ``Y (T, directions, B, H)``; cnnlab's LSTM op
returns ``(T + 1, B, H)`` (the hidden states, then ``c_T``) and the GRU op ``(T, B, H)``.
"""

from __future__ import annotations

import numpy as np

import cnnlab
import cnnlab.nn.functional as F
from cnnlab import nn
from cnnlab.onnx.node import as_tensor, raw

__all__ = ["RECURRENT_EXPORTERS", "RECURRENT_IMPORTERS", "Recurrent"]

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


# ------------------------------------------------------------------------------ import
# ONNX's gate blocks in PyTorch's (and cnnlab's) order: LSTM i, o, f, c -> i, f, g, o;
# GRU z, r, h -> r, z, n
_TO_TORCH = {"LSTM": (0, 2, 3, 1), "GRU": (1, 0, 2), "RNN": (0,)}
_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"]}


class Recurrent(nn.Module):
    """One ONNX LSTM/GRU/RNN node: cnnlab's ``nn.LSTM``/``nn.GRU``/``nn.RNN`` (one layer,
    ``bidirectional`` for ONNX's ``bidirectional``; a ``reverse`` node runs the layer over
    the time-reversed sequence), or, with weights given at run time, ``F.recurrent``. A GRU
    with ONNX's default ``linear_before_reset=0`` is not PyTorch's GRU: it runs step by step
    (:func:`_gru_reset_before`).

    Shape: X ``(T, B, I)`` (``layout=1``: ``(B, T, I)``) -> Y ``(T, D, B, H)``, Y_h and
    Y_c ``(D, B, H)`` (``layout=1``: ``(B, T, D, H)`` and ``(B, D, H)``).
    """

    def __init__(self, op: str, mode: str, hidden: int, dirs: int, reverse: bool, layout: int):
        super().__init__()
        self.op, self.mode, self.hidden_size = op, mode, hidden
        self.dirs, self.reverse, self.layout = dirs, reverse, layout
        self.layer = None
        self.reset_before = False  # GRU with linear_before_reset=0: run by _gru_reset_before
        self.peepholes = False  # LSTM with peephole weights P: run by _lstm_peepholes

    def extra_repr(self) -> str:
        return f"{self.mode}, hidden_size={self.hidden_size}, directions={self.dirs}" + (
            ", reverse" if self.reverse else ""
        )

    def forward(self, x, w=None, r=None, b=None, lengths=None, h0=None, c0=None, p=None):
        if self.layout:
            x = x.permute(1, 0, 2)
            h0, c0 = (None if s is None else as_tensor(s).permute(1, 0, 2) for s in (h0, c0))
        steps, batch = x.shape[0], x.shape[1]
        if lengths is not None and np.any(raw(lengths) != steps):
            raise ValueError(
                f"sequence_lens {raw(lengths).tolist()} shorter than the {steps} steps "
                "are not supported"
            )
        if self.reverse:
            x = x[::-1]
        state = None
        if h0 is not None or c0 is not None:
            zero = np.zeros((self.dirs, batch, self.hidden_size), raw(x).dtype)
            h0, c0 = (as_tensor(zero) if s is None else as_tensor(s) for s in (h0, c0))
            state = (h0, c0) if self.op == "LSTM" else h0
        if self.layer is not None:
            out, h_n = self.layer(x, state)
        elif self.reset_before:
            out, h_n = _gru_reset_before(x, w, r, b, state, self.dirs, self.hidden_size)
        elif self.peepholes:
            out, h_n = _lstm_peepholes(x, (w, r, b, p), state, self.dirs, self.hidden_size)
        else:
            weights = _run_time_weights(self.op, w, r, b, self.dirs, self.hidden_size)
            out, h_n = F.recurrent(self.mode, x, state, weights, bidirectional=self.dirs == 2)
        if self.reverse:
            out = out[::-1]
        y = out.reshape(steps, batch, self.dirs, self.hidden_size).permute(0, 2, 1, 3)
        states = h_n if self.op == "LSTM" else (h_n,)
        if self.layout:
            y = y.permute(2, 0, 1, 3)
            states = tuple(s.permute(1, 0, 2) for s in states)
        return (y, *states)


def _gru_reset_before(x, w, r, b, h0, dirs: int, hidden: int):
    """ONNX's default GRU (``linear_before_reset=0``: the reset gate scales ``h`` before
    its product with ``R_h``, where PyTorch's scales the product) as a composite of
    differentiable ops, step by step::

        z = sigmoid(x W_z + h R_z + b_z),  r = sigmoid(x W_r + h R_r + b_r)
        n = tanh(x W_h + (r * h) R_h + Wb_h + Rb_h),  h' = (1 - z) * n + z * h

    Shape: x ``(T, B, I)``; w ``(D, 3H, I)``, r ``(D, 3H, H)``, b ``(D, 6H)``; h0
    ``(D, B, H)`` -> ``((T, B, D * H), (D, B, H))``.
    """
    w, r = as_tensor(w), as_tensor(r)
    outs, last = [], []
    for d in range(dirs):
        wd, rd = w[d], r[d]
        xs = x if d == 0 else x[::-1]
        proj = xs @ wd.permute(1, 0)  # (T, B, 3H)
        rb = None
        if b is not None:
            bd = as_tensor(b)[d]
            proj, rb = proj + bd[: 3 * hidden], bd[3 * hidden :]
        h = h0[d] if h0 is not None else as_tensor(np.zeros((x.shape[1], hidden), raw(x).dtype))
        gates_r, cand_r = rd[: 2 * hidden].permute(1, 0), rd[2 * hidden :].permute(1, 0)
        ys = []
        for t in range(x.shape[0]):
            zr = h @ gates_r if rb is None else h @ gates_r + rb[: 2 * hidden]
            z = F.sigmoid(proj[t][:, :hidden] + zr[:, :hidden])
            reset = F.sigmoid(proj[t][:, hidden : 2 * hidden] + zr[:, hidden:])
            cand = proj[t][:, 2 * hidden :] + (reset * h) @ cand_r
            n = F.tanh(cand if rb is None else cand + rb[2 * hidden :])
            h = (1 - z) * n + z * h
            ys.append(h)
        y = cnnlab.stack(ys, dim=0)
        outs.append(y if d == 0 else y[::-1])
        last.append(h)
    return cnnlab.cat(outs, dim=-1), cnnlab.stack(last, dim=0)


def _lstm_peepholes(x, weights, state, dirs: int, hidden: int):
    """ONNX's LSTM with peephole weights ``P = (P_i, P_o, P_f)``: the input and forget gates
    also read the previous cell, the output gate the new one; a composite of
    differentiable ops, step by step (gate blocks in ONNX's order i, o, f, c)::

        i = sigmoid(x W_i + h R_i + P_i * c + b_i),  f = sigmoid(x W_f + h R_f + P_f * c + b_f)
        c' = f * c + i * tanh(x W_c + h R_c + b_c)
        o = sigmoid(x W_o + h R_o + P_o * c' + b_o),  h' = o * tanh(c')

    Shape: x ``(T, B, I)``; w ``(D, 4H, I)``, r ``(D, 4H, H)``, b ``(D, 8H)``, p
    ``(D, 3H)``; state ``(h0, c0)`` each ``(D, B, H)`` -> ``((T, B, D * H), (h_T, c_T))``.
    """
    w, r, b, p = (None if a is None else as_tensor(a) for a in weights)
    zero = as_tensor(np.zeros((x.shape[1], hidden), raw(x).dtype))
    outs, last_h, last_c = [], [], []
    for d in range(dirs):
        xs = x if d == 0 else x[::-1]
        proj = xs @ w[d].permute(1, 0)  # (T, B, 4H)
        if b is not None:
            proj = proj + b[d][: 4 * hidden] + b[d][4 * hidden :]
        h, c = (zero, zero) if state is None else (state[0][d], state[1][d])
        pi, po, pf = (None if p is None else p[d][k * hidden : (k + 1) * hidden] for k in range(3))
        rd = r[d].permute(1, 0)
        ys = []
        for t in range(x.shape[0]):
            g = proj[t] + h @ rd
            gi, go, gf, gc = (g[:, k * hidden : (k + 1) * hidden] for k in range(4))
            i = F.sigmoid(gi if pi is None else gi + pi * c)
            f = F.sigmoid(gf if pf is None else gf + pf * c)
            c = f * c + i * F.tanh(gc)
            h = F.sigmoid(go if po is None else go + po * c) * F.tanh(c)
            ys.append(h)
        y = cnnlab.stack(ys, dim=0)
        outs.append(y if d == 0 else y[::-1])
        last_h.append(h)
        last_c.append(c)
    return cnnlab.cat(outs, dim=-1), (cnnlab.stack(last_h, dim=0), cnnlab.stack(last_c, dim=0))


def _reorder(a, op: str):
    k = len(_TO_TORCH[op])
    size = a.shape[0] // k
    blocks = [a[i * size : (i + 1) * size] for i in _TO_TORCH[op]]
    if isinstance(a, np.ndarray):
        return np.ascontiguousarray(np.concatenate(blocks, axis=0))
    return blocks[0] if k == 1 else cnnlab.cat(blocks, dim=0)


def _run_time_weights(op, w, r, b, dirs: int, hidden: int) -> list:
    gates = len(_TO_TORCH[op]) * hidden
    out = []
    for d in range(dirs):
        w_d, r_d = as_tensor(w)[d], as_tensor(r)[d]
        b_ih = b_hh = None
        if b is not None:
            b_d = as_tensor(b)[d]
            b_ih, b_hh = _reorder(b_d[:gates], op), _reorder(b_d[gates:], op)
        out.append((_reorder(w_d, op), _reorder(r_d, op), b_ih, b_hh))
    return out


def _recurrent_rule(op: str):
    def rule(n):
        hidden, direction = n.attr("hidden_size"), n.attr("direction", "forward")
        if direction not in ("forward", "reverse", "bidirectional"):
            n.fail(f"unknown direction {direction!r}")
        dirs = 2 if direction == "bidirectional" else 1
        acts = n.attr("activations")
        mode = op
        if op == "RNN":
            first = (acts or ["Tanh"])[0]
            if first not in ("Tanh", "Relu") or (acts and len(set(acts)) > 1):
                n.fail(f"activations {acts} are not supported (Tanh or Relu, alike per direction)")
            mode = "RNN_TANH" if first == "Tanh" else "RNN_RELU"
        elif acts is not None and list(acts) != _ACTIVATIONS[op] * (
            len(acts) // len(_ACTIVATIONS[op])
        ):
            n.fail(f"activations {acts} are not supported (only {_ACTIVATIONS[op]})")
        for attr in ("clip", "activation_alpha", "activation_beta"):
            if n.attr(attr) is not None:
                n.fail(f"attribute {attr} is not supported")
        if op == "LSTM" and n.attr("input_forget", 0):
            n.fail("input_forget=1 is not supported")
        if hidden is None:
            r = n.const(2)
            if r is None:
                n.fail("hidden_size is missing (and R is not a constant to read it from)")
            hidden = r.shape[-1]
        module = Recurrent(op, mode, hidden, dirs, direction == "reverse", n.attr("layout", 0))
        if op == "GRU" and not n.attr("linear_before_reset", 0):
            module.reset_before = True  # not PyTorch's GRU: step by step, weights as inputs
            return module, n.inputs[:7]
        if op == "LSTM" and n.has(7):
            module.peepholes = True  # not PyTorch's LSTM: step by step, weights as inputs
            return module, n.inputs[:8]
        w, r = n.const(1), n.const(2)
        b_given = n.has(3)
        if w is not None and r is not None and (not b_given or n.const(3) is not None):
            module.layer = _layer(op, mode, w, r, n.const(3), dirs)
            return module, [n.inputs[0], "", "", "", *n.inputs[4:7]]
        return module, n.inputs[:7]

    return rule


def _layer(op, mode, w, r, b, dirs: int):
    """cnnlab's own recurrent layer holding the node's weights in PyTorch's layout."""
    hidden = r.shape[-1]
    cls = {"LSTM": nn.LSTM, "GRU": nn.GRU}.get(op)
    kw = {} if cls else {"nonlinearity": "tanh" if mode == "RNN_TANH" else "relu"}
    cls = cls or nn.RNN
    layer = cls(
        w.shape[-1], hidden, bias=b is not None, bidirectional=dirs == 2, dtype=w.dtype, **kw
    )
    gates = len(_TO_TORCH[op]) * hidden
    for d in range(dirs):
        s = "_l0" + ("_reverse" if d else "")
        arrays = {"weight_ih": w[d], "weight_hh": r[d]}
        if b is not None:
            arrays.update(bias_ih=b[d][:gates], bias_hh=b[d][gates:])
        for name, a in arrays.items():
            getattr(layer, name + s).array = _reorder(np.array(a, copy=True), op)
    return layer.eval()


RECURRENT_IMPORTERS = {op: _recurrent_rule(op) for op in ("LSTM", "GRU", "RNN")}

"""Architecture summary: per layer output shape, parameters, multiply-adds, activation memory
and receptive field, from one real forward pass (so branches and functional ops count)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import cnnlab
from cnnlab import nn
from cnnlab.autograd import trace
from cnnlab.inspect.receptive_field import Propagator


def _macs(module, inp, out) -> int:
    """Multiply-adds of one sample through ``module`` (convolutions, fully connected and
    recurrent layers; gate nonlinearities are not counted, like activations elsewhere)."""
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        k = int(np.prod(module.weight.shape[2:]))
        return int(np.prod(out.shape[1:])) * (module.weight.shape[1]) * k
    if isinstance(module, nn.ConvTranspose2d):
        k = int(np.prod(module.weight.shape[2:]))
        return int(np.prod(inp.shape[1:])) * module.weight.shape[1] * k
    if isinstance(module, nn.Linear):
        return int(np.prod(out.shape[1:])) * module.weight.shape[1]
    if isinstance(module, (nn.RNN, nn.LSTM, nn.GRU)):  # per step (all layers) x steps
        steps = inp.shape[1] if module.batch_first and inp.ndim == 3 else inp.shape[0]
        return module.macs_per_step() * int(steps)
    if isinstance(module, (nn.RNNCell, nn.LSTMCell, nn.GRUCell)):
        return module.macs_per_step()
    return 0


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


@dataclass
class LayerRow:
    name: str
    type: str
    output_shape: tuple
    params: int
    trainable: int
    macs: int
    memory: int  # bytes of the output activation, one sample
    rf_size: tuple | None  # (h, w)
    rf_jump: tuple | None
    rf_start: tuple | None


@dataclass
class Summary:
    """What :func:`summary` returns: ``rows`` (one per layer call), ``totals``, a printable
    table (``str(summary)``) and :meth:`to_rows` for plain dicts."""

    model_name: str
    input_shape: tuple
    rows: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0

    @property
    def totals(self) -> dict:
        return {
            "params": sum(r.params for r in self.rows),
            "trainable": sum(r.trainable for r in self.rows),
            "frozen": sum(r.params - r.trainable for r in self.rows),
            "macs": sum(r.macs for r in self.rows),
            "memory": sum(r.memory for r in self.rows),
        }

    def to_rows(self) -> list[dict]:
        return [r.__dict__.copy() for r in self.rows]

    def __str__(self) -> str:
        head = ["Layer", "Type", "Output shape", "Params", "MACs", "Memory", "RF", "Jump", "Start"]
        body = []
        for r in self.rows:
            rf = lambda v: "" if v is None else "x".join(f"{x:g}" for x in v)  # noqa: E731
            body.append(
                [
                    r.name,
                    r.type,
                    "x".join(map(str, r.output_shape)),
                    _fmt_int(r.params) if r.params else "-",
                    _fmt_int(r.macs) if r.macs else "-",
                    _fmt_bytes(r.memory),
                    rf(r.rf_size),
                    rf(r.rf_jump),
                    rf(r.rf_start),
                ]
            )
        widths = [
            max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)
        ]
        line = lambda cells: "  ".join(  # noqa: E731
            c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        )
        t = self.totals
        rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
        out = [
            f"{self.model_name} on input {'x'.join(map(str, self.input_shape))}",
            rule,
            line(head),
            rule,
            *(line(b) for b in body),
            rule,
            f"Total params: {_fmt_int(t['params'])} (trainable {_fmt_int(t['trainable'])}, "
            f"frozen {_fmt_int(t['frozen'])})",
            f"Multiply-adds: {_fmt_int(t['macs'])} ({2 * t['macs'] / 1e9:.3f} GFLOPs)",
            f"Activation memory (one sample, forward): {_fmt_bytes(t['memory'])}",
            f"Parameter memory: {_fmt_bytes(4 * t['params'])} in float32",
        ]
        return "\n".join(out)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        """The table as HTML, for Jupyter (names escaped)."""
        from cnnlab.display import html_table

        rf = lambda v: "" if v is None else "x".join(f"{x:g}" for x in v)  # noqa: E731
        rows = [
            [r.name, r.type, "x".join(map(str, r.output_shape)), _fmt_int(r.params) if r.params
             else "-", _fmt_int(r.macs) if r.macs else "-", _fmt_bytes(r.memory),
             rf(r.rf_size), rf(r.rf_jump), rf(r.rf_start)]
            for r in self.rows
        ]  # fmt: skip
        t = self.totals
        head = ["Layer", "Type", "Output shape", "Params", "MACs", "Memory", "RF", "Jump", "Start"]
        caption = (
            f"{self.model_name} on input {'x'.join(map(str, self.input_shape))}: "
            f"{_fmt_int(t['params'])} parameters ({_fmt_int(t['trainable'])} trainable), "
            f"{2 * t['macs'] / 1e9:.3f} GFLOPs, {_fmt_bytes(t['memory'])} of activations"
        )
        return html_table(head, rows, caption)


def summary(model: nn.Module, input_shape, batch_size: int = 1) -> Summary:
    """Summarise ``model`` on an input of ``input_shape`` (C, H, W), one sample.

    A row per call of every leaf module (a module without children, or with parameters of its
    own). Receptive fields are analytic, propagated through every op of the forward pass.
    """
    input_shape = tuple(int(s) for s in input_shape)
    leaves = [
        (n, m)
        for n, m in model.named_modules()
        if not list(m.children()) or list(m.parameters(recurse=False))
    ]
    calls = []
    handles = [
        m.register_forward_hook(
            lambda mod, inp, out, name=n: calls.append((name, mod, inp[0] if inp else None, out))
        )
        for n, m in leaves
    ]
    was_training = model.training
    model.eval()
    x = cnnlab.zeros(
        batch_size, *input_shape, dtype=next(iter(model.parameters()), x_default()).dtype
    )
    prop = Propagator(x)
    try:
        with cnnlab.no_grad(), trace(prop):
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    result = Summary(type(model).__name__, input_shape)
    seen = set()
    for name, mod, inp, out in calls:
        out_t = out[0] if isinstance(out, tuple) else out
        own = (
            [p for p in mod.parameters(recurse=False)]
            if list(mod.children())
            else list(mod.parameters())
        )
        fresh = [p for p in own if id(p) not in seen]  # a shared layer's weights count once
        seen.update(id(p) for p in own)
        rf = prop.fields.get(id(out_t))
        result.rows.append(
            LayerRow(
                name=name or type(mod).__name__,
                type=type(mod).__name__,
                output_shape=tuple(out_t.shape[1:]),
                params=sum(p.numel() for p in fresh),
                trainable=sum(p.numel() for p in fresh if p.requires_grad),
                macs=_macs(mod, inp, out_t),
                memory=int(out_t.numel() // batch_size * out_t.dtype.itemsize),
                rf_size=None if rf is None else tuple(f.size for f in rf),
                rf_jump=None if rf is None else tuple(f.jump for f in rf),
                rf_start=None if rf is None else tuple(f.start for f in rf),
            )
        )
    all_params = list(model.parameters())
    result.total_params = sum(p.numel() for p in all_params)
    result.trainable_params = sum(p.numel() for p in all_params if p.requires_grad)
    return result


def x_default():
    return cnnlab.zeros(1)

"""Argument checks of the recurrent ops: a wrong shape names the op, the expected and the
actual shape."""

from __future__ import annotations

__all__ = ["check_layer_args"]


def _shape(t) -> tuple:
    return tuple(getattr(t, "shape", ()))


def check_layer_args(name: str, gates: int, x, w_ih, w_hh, b_ih, b_hh, *states) -> None:
    """``x`` (T, B, I) with T >= 1; weights ``(gates H, I)``, ``(gates H, H)``; biases
    ``(gates H,)``; every state ``(B, H)`` (None allowed for biases and states)."""
    if len(_shape(w_hh)) != 2 or w_hh.shape[0] != gates * w_hh.shape[1]:
        raise ValueError(f"{name}: expected weight_hh of shape ({gates}*H, H), got {_shape(w_hh)}")
    n = w_hh.shape[1]
    if len(_shape(x)) != 3 or x.shape[0] < 1:
        raise ValueError(f"{name}: expected input of shape (T, B, I) with T >= 1, got {_shape(x)}")
    steps, batch, features = x.shape
    if _shape(w_ih) != (gates * n, features):
        raise ValueError(
            f"{name}: expected weight_ih of shape ({gates * n}, {features}), got {_shape(w_ih)}"
        )
    for label, b in (("bias_ih", b_ih), ("bias_hh", b_hh)):
        if b is not None and _shape(b) != (gates * n,):
            raise ValueError(f"{name}: expected {label} of shape ({gates * n},), got {_shape(b)}")
    for s in states:
        if s is not None and _shape(s) != (batch, n):
            raise ValueError(
                f"{name}: expected an initial state of shape ({batch}, {n}), got {_shape(s)}"
            )

"""Input checks shared by layers: a wrong-rank or wrong-size input names the layer."""

from __future__ import annotations


def check_input(
    layer, x, ndims: tuple, pattern: str, dim: int | None = None, size: int | None = None
) -> None:
    """Raise ``ValueError`` unless ``x.ndim`` is in ``ndims`` and ``x.shape[dim] == size``.

    ``pattern`` is the expected shape in words, e.g. ``"(N, 3, H, W)"``.
    """
    shape = tuple(getattr(x, "shape", ()))
    ok = len(shape) in ndims and (dim is None or shape[dim] == size)
    if not ok:
        raise ValueError(f"{layer._describe()}: expected input of shape {pattern}, got {shape}")

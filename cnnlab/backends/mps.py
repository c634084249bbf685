"""``cnnlab.backends.mps``: Apple's Metal back end, which cnnlab does not have."""

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """Always False: cnnlab computes on the CPU (NumPy) and on CUDA GPUs (CuPy) only."""
    return False


def is_built() -> bool:
    """Always False: this copy of cnnlab has no Metal back end."""
    return False

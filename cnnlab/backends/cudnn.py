"""``cnnlab.backends.cudnn``: the flags PyTorch programs set before training.

``benchmark``, ``deterministic`` and ``enabled`` are kept so that ``torch.backends.cudnn.
benchmark = True`` runs; cnnlab's kernels do not read them (its CPU kernels are
deterministic for a fixed thread count, and its CUDA path is CuPy's).
"""

from cnnlab import cuda

__all__ = ["benchmark", "deterministic", "enabled", "is_available"]

benchmark = False
deterministic = False
enabled = True


def is_available() -> bool:
    """Whether cnnlab's CUDA path can run here (CuPy and a GPU)."""
    return cuda.is_available()

"""``cnnlab.backends``, as ``torch.backends``: which compute back ends this copy has.

``backends.mps.is_available()`` is False (cnnlab has no Metal path); ``backends.cudnn``
holds the flags PyTorch programs set (``benchmark``, ``deterministic``), which cnnlab's
CuPy path reads nowhere, and says whether cuDNN is usable.
"""

from cnnlab.backends import cudnn, mps

__all__ = ["cudnn", "mps"]

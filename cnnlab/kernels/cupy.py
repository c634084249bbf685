"""CuPy arrays: the reference kernels, run on the GPU through ``xp = get_array_module(x)``.

cuDNN is not wired in: no GPU was available to test it. A cuDNN path belongs here, behind
the same function set.
"""

from cnnlab.kernels.reference import *  # noqa: F403
from cnnlab.kernels.reference import __all__  # noqa: F401

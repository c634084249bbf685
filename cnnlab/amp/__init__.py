"""``cnnlab.amp``, as ``torch.amp``: ``autocast`` and ``GradScaler`` for programs written for
mixed precision.

cnnlab computes in the tensors' own dtype: ``autocast`` is accepted as a block and as a
decorator and casts nothing (NumPy has no bfloat16, and float16 on the CPU is slower, not
faster). ``GradScaler`` is PyTorch's loss scaling, step for step (scale, unscale, skip the
step on inf/NaN gradients, grow or back off the scale); with float32 gradients it rarely
has anything to skip. ``GradScaler("cuda")`` without a usable GPU disables itself with a
warning, as PyTorch's does.
"""

from cnnlab.amp.autocast import autocast
from cnnlab.amp.grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast"]

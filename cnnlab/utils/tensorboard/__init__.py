"""``torch.utils.tensorboard``: :class:`SummaryWriter` writing TensorBoard event files."""

from cnnlab.utils.tensorboard.writer import SummaryWriter

__all__ = ["SummaryWriter"]

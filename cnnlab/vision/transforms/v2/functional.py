"""``torchvision.transforms.v2.functional``: the same functions as
:mod:`cnnlab.vision.transforms.functional`."""

from cnnlab.vision.transforms.functional import *  # noqa: F403
from cnnlab.vision.transforms.functional import __all__  # noqa: F401

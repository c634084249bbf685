"""The model zoo: ``create(name, ...)`` builds any registered model, ``names()`` lists them.

Importing this package imports every model family so that each registers itself.
``open_model`` (:mod:`cnnlab.models.loading`) opens a checkpoint, a zoo or pretrained name, or
an ONNX file for the commands.
"""

from cnnlab.models import alexnet, dcgan, efficientnet, lenet, resnet, simple, vgg  # noqa: F401
from cnnlab.models import captioning as _captioning  # noqa: F401  (show_tell, show_attend_tell)
from cnnlab.models import detection as _detection  # noqa: F401  (centernet_small)
from cnnlab.models import recurrent as _recurrent  # noqa: F401  (registers lstm_rows, gru_rows, conv_lstm)
from cnnlab.models import segmentation as _segmentation  # noqa: F401  (dilated_fcn, unet_small)
from cnnlab.models.loading import LoadedModel, open_model, resolve_class
from cnnlab.models.registry import accepts, create, info, names, register

__all__ = [
    "LoadedModel",
    "accepts",
    "create",
    "info",
    "names",
    "open_model",
    "register",
    "resolve_class",
]

import pytest

import cnnlab
from cnnlab.vision import models


def test_torchvision_constructors_build_the_zoo_models():
    m = models.resnet18(weights=None, num_classes=10)
    assert m(cnnlab.randn(2, 3, 32, 32)).shape == (2, 10)
    assert models.get_model("lenet5").__class__.__name__ == "LeNet5"
    assert "resnet20" in models.list_models() and callable(models.resnet20)
    with pytest.raises(ValueError, match="none of torchvision's pretrained weights"):
        models.vgg11(weights="IMAGENET1K_V1")
    with pytest.raises(AttributeError, match="the zoo has"):
        models.mobilenet_v2

"""VGG (Simonyan & Zisserman 2015): configurations A/B/D/E = VGG-11/13/16/19, with and without
batch norm; ImageNet heads (torchvision's layout and parameter names: VGG-16 has 138,357,544
parameters at 224x224 with 1000 classes) and CIFAR-sized heads for 32x32 inputs."""

from __future__ import annotations

from cnnlab import nn
from cnnlab.models.he_init import he_initialised
from cnnlab.models.registry import register

CONFIGS = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        512,
        "M",
    ],
}


def make_features(cfg: list, in_channels: int, batch_norm: bool) -> nn.Sequential:
    """The conv stack: 3x3 convolutions (padding 1) and 2x2 max pools ('M')."""
    layers = []
    c = in_channels
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(c, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        c = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    @he_initialised  # cnnlab's choice for its zoo; the layers default to PyTorch's
    def __init__(
        self,
        depth: int = 16,
        num_classes: int = 1000,
        in_channels: int = 3,
        batch_norm: bool = False,
        cifar: bool = False,
        dropout: float = 0.5,
    ):
        super().__init__()
        if depth not in CONFIGS:
            raise ValueError(f"VGG: depth must be one of {sorted(CONFIGS)}, got {depth}")
        self.features = make_features(CONFIGS[depth], in_channels, batch_norm)
        if cifar:  # 32x32 input: five pools leave 1x1x512
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.classifier = nn.Sequential(
                nn.Dropout(dropout),
                nn.Linear(512, 512),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
                nn.Linear(512, num_classes),
            )
        else:
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(
                nn.Linear(512 * 7 * 7, 4096),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
                nn.Linear(4096, 4096),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
                nn.Linear(4096, num_classes),
            )

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def _register(depth: int, bn: bool, cifar: bool) -> None:
    name = f"vgg{depth}{'_bn' if bn else ''}{'_cifar' if cifar else ''}"
    shape, classes = ((3, 32, 32), 10) if cifar else ((3, 224, 224), 1000)

    @register(name, input_shape=shape, num_classes=classes)
    def factory(num_classes: int = classes, in_channels: int = 3, **options) -> VGG:
        return VGG(depth, num_classes, in_channels, batch_norm=bn, cifar=cifar, **options)

    factory.__name__ = name
    factory.__doc__ = f"VGG-{depth}{' with batch norm' if bn else ''}" + (
        " for 32x32 inputs" if cifar else " for 224x224 ImageNet inputs"
    )


for _d in CONFIGS:
    for _bn in (False, True):
        for _cifar in (False, True):
            _register(_d, _bn, _cifar)

"""AlexNet (Krizhevsky et al. 2012), single-tower, with the lectures' shapes, and a small
variant for 28x28 and 32x32 inputs.

224x224x3 -> conv 96@11x11/4 -> 55x55x96 -> pool -> 27x27x96 -> conv 256@5x5 -> 27x27x256
-> pool -> 13x13x256 -> conv 384@3x3 -> 13x13x384 -> conv 384@3x3 -> conv 256@3x3 -> 13x13x256
-> pool -> 6x6x256 -> fc 4096 -> fc 4096 -> fc 1000.
Attribute names follow torchvision (features, avgpool, classifier).
"""

from __future__ import annotations

from cnnlab import nn
from cnnlab.models.he_init import he_initialised
from cnnlab.models.registry import register


class AlexNet(nn.Module):
    @he_initialised  # cnnlab's choice for its zoo; the layers default to PyTorch's
    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 96, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(96, 256, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(256, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


class AlexNetSmall(nn.Module):
    """AlexNet's pattern (big-stride-free conv stack, three max pools, two wide fc layers)
    scaled for 28x28 / 32x32 inputs: 5 conv layers 64-128-256-256-128, fc 1024-1024."""

    @he_initialised  # cnnlab's choice for its zoo; the layers default to PyTorch's
    def __init__(self, num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
            nn.Conv2d(64, 128, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
            nn.Conv2d(128, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 128, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((4, 4))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(128 * 4 * 4, 1024),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(1024, 1024),
            nn.ReLU(inplace=True),
            nn.Linear(1024, num_classes),
        )

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


@register("alexnet", input_shape=(3, 224, 224), num_classes=1000)
def alexnet(num_classes: int = 1000, in_channels: int = 3, **options) -> AlexNet:
    return AlexNet(num_classes, in_channels, **options)


@register("alexnet_small", input_shape=(1, 28, 28), num_classes=10)
def alexnet_small(num_classes: int = 10, in_channels: int = 1, **options) -> AlexNetSmall:
    return AlexNetSmall(num_classes, in_channels, **options)

"""The default Fashion-MNIST model: a small VGG-style CNN sized for a 2-core CPU.

Each stage is ``convs_per_stage`` x (conv 3x3 - BatchNorm - ReLU) followed by a 2x2 max pool;
then dropout and one linear layer. With the defaults (stages of 32, 64 and 128 channels, one
conv each; 104k parameters) a forward pass costs about 7.4 M multiply-adds per 28x28 image,
cheap enough for several Fashion-MNIST epochs on a 2-core CPU. ``cnnlab train`` trains it
with SGD (Nesterov), warm-up + cosine learning rate and label smoothing for 6 epochs.

``fashion_cnn_large`` doubles the convs per stage (298k parameters, ~29 M multiply-adds per
image) for the stronger recipe: ``cnnlab train --model fashion_cnn_large --augment --epochs 30``
(random crops with 3-pixel padding and horizontal flips; target >= 94% test accuracy).
"""

from __future__ import annotations

from cnnlab import nn
from cnnlab.models.registry import register

__all__ = ["FashionCNN", "fashion_cnn"]


class FashionCNN(nn.Module):
    """conv-BN-ReLU stages with max pooling, then dropout and a linear classifier.

    Shape:
        - input: (N, in_channels, input_size, input_size); output: (N, num_classes)
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        input_size: int = 28,
        widths: tuple = (32, 64, 128),
        convs_per_stage: int = 1,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        if not widths or convs_per_stage < 1:
            raise ValueError(
                f"FashionCNN: need at least one stage and conv, got widths={widths}, "
                f"convs_per_stage={convs_per_stage}"
            )
        layers, c, side = [], in_channels, input_size
        for w in widths:
            for _ in range(convs_per_stage):
                layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
                c = w
            layers.append(nn.MaxPool2d(2))
            side //= 2
        if side < 1:
            raise ValueError(
                f"FashionCNN: input_size {input_size} is too small for {len(widths)} poolings"
            )
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(c * side * side, num_classes)
        )

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


@register("fashion_cnn", input_shape=(1, 28, 28), num_classes=10)
def fashion_cnn(
    num_classes: int = 10, in_channels: int = 1, input_size: int = 28, **options
) -> FashionCNN:
    """Small conv-BN-ReLU net, the default of ``cnnlab train`` (>= 92.5% on Fashion-MNIST)."""
    return FashionCNN(num_classes, in_channels, input_size, **options)


@register("fashion_cnn_large", input_shape=(1, 28, 28), num_classes=10)
def fashion_cnn_large(
    num_classes: int = 10, in_channels: int = 1, input_size: int = 28, **options
) -> FashionCNN:
    """fashion_cnn with two convs per stage: the stronger recipe (``--augment``, more epochs)."""
    options.setdefault("convs_per_stage", 2)
    return FashionCNN(num_classes, in_channels, input_size, **options)

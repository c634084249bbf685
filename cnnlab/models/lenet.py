"""LeNet-5 (LeCun, Bottou, Bengio and Haffner, 1998).

conv 6@5x5 - pool - conv 16@5x5 - pool - fc 120 - fc 84 - fc classes. The paper feeds 32x32
images; on 28x28 (MNIST as distributed) the first conv pads by 2, so every later map has the
classic size (28x28, 14x14, 10x10, 5x5) and the flattened features are 16 x 5 x 5 = 400.
``variant='classic'`` uses tanh and average pooling like the paper (without its trainable
subsampling coefficients and sparse C3 connection table); ``'modern'`` uses ReLU and max pooling.
"""

from __future__ import annotations

from cnnlab import nn
from cnnlab.models.he_init import he_initialised
from cnnlab.models.registry import register

__all__ = ["LeNet5", "lenet5"]


class LeNet5(nn.Module):
    """LeNet-5 for ``input_size`` x ``input_size`` images (28 or 32 give the classic maps;
    other sizes >= 16 work without padding).

    Shape:
        - input: (N, in_channels, input_size, input_size); output: (N, num_classes)
    """

    @he_initialised  # cnnlab's choice for its zoo; the layers default to PyTorch's
    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        variant: str = "modern",
        input_size: int = 28,
    ) -> None:
        super().__init__()
        if variant not in ("modern", "classic"):
            raise ValueError(f"LeNet5: variant must be 'modern' or 'classic', got {variant!r}")
        padding = 2 if input_size == 28 else 0  # 28 + 2 * 2 = the paper's 32
        side = ((input_size + 2 * padding - 4) // 2 - 4) // 2
        if side < 1:
            raise ValueError(f"LeNet5: input_size must be at least 16, got {input_size}")
        act = nn.ReLU if variant == "modern" else nn.Tanh
        pool = nn.MaxPool2d if variant == "modern" else nn.AvgPool2d
        self.variant = variant
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=padding),
            act(),
            pool(2),
            nn.Conv2d(6, 16, 5),
            act(),
            pool(2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(16 * side * side, 120),
            act(),
            nn.Linear(120, 84),
            act(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))

    def extra_repr(self) -> str:
        return f"variant={self.variant!r}"


@register("lenet5", input_shape=(1, 28, 28), num_classes=10)
def lenet5(
    num_classes: int = 10, in_channels: int = 1, variant: str = "modern", input_size: int = 28
) -> LeNet5:
    """LeNet-5 (LeCun et al. 1998); variant 'modern' (ReLU, max pool) or 'classic' (tanh, avg)."""
    return LeNet5(num_classes, in_channels, variant, input_size)

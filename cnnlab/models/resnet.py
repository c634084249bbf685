"""Residual networks (He et al. 2016) and their plain twins.

CIFAR family (32x32 inputs, section 4.2 of the paper): a 3x3 conv with 16 filters, three stages
of n basic blocks with 16/32/64 channels (the first block of stages 2 and 3 has stride 2),
global average pooling and a fully connected layer: depth 6n + 2 (20, 32, 44, 56, 110).
Shortcuts: option 'A' (default, as the paper's CIFAR nets) is parameter-free: the identity,
subsampled by 2 and zero-padded in channels where the shape changes; option 'B' projects with a
1x1 convolution and batch norm where the shape changes. ``plainN`` removes every shortcut: the
lectures' plain-versus-residual comparison.

ImageNet family: resnet18 / resnet34 with torchvision's layout and parameter names, so their
state_dicts load key for key.
"""

from __future__ import annotations

import cnnlab
from cnnlab import nn
from cnnlab.models.he_init import he_initialised
from cnnlab.models.registry import register
from cnnlab.nn.fusion import fuse_modules


class ShortcutA(nn.Module):
    """Option A: ``x[:, :, ::s, ::s]`` zero-padded to ``planes`` channels (no parameters)."""

    def __init__(self, in_planes: int, planes: int, stride: int):
        super().__init__()
        self.stride, self.extra = stride, planes - in_planes

    def forward(self, x):
        if self.stride != 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.extra:
            lo = self.extra // 2
            x = cnnlab.pad(x, (0, 0, 0, 0, lo, self.extra - lo))
        return x

    def extra_repr(self) -> str:
        return f"stride={self.stride}, zero_channels={self.extra}"


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut, then ReLU."""

    expansion = 1

    def __init__(
        self,
        in_planes: int,
        planes: int,
        stride: int = 1,
        shortcut: str = "B",
        residual: bool = True,
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.residual = residual
        self.downsample = None
        if residual and (stride != 1 or in_planes != planes):
            if shortcut == "A":
                self.downsample = ShortcutA(in_planes, planes, stride)
            elif shortcut == "B":
                self.downsample = nn.Sequential(
                    nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                    nn.BatchNorm2d(planes),
                )
            else:
                raise ValueError(f"BasicBlock: shortcut must be 'A' or 'B', got {shortcut!r}")

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)

    def fuse_model(self) -> None:
        """Fold bn1 into conv1 and bn2 into conv2 (``model.fuse()``, cnnlab.nn.fusion)."""
        fuse_modules(self, [["conv1", "bn1"], ["conv2", "bn2"]])


class CifarResNet(nn.Module):
    @he_initialised  # cnnlab's choice for its zoo; the layers default to PyTorch's
    def __init__(
        self,
        depth: int = 20,
        num_classes: int = 10,
        in_channels: int = 3,
        shortcut: str = "A",
        residual: bool = True,
    ):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(
                f"CifarResNet: depth must be 6n + 2 (20, 32, 44, 56, 110), got {depth}"
            )
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        planes, layers = 16, []
        for i, width in enumerate((16, 32, 64)):
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(BasicBlock(planes, width, stride, shortcut, residual))
                planes = width
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))

    def fuse_model(self) -> None:
        """Fold the stem's batch norm and ReLU into its conv (``model.fuse()``)."""
        fuse_modules(self, ["conv1", "bn1", "relu"])


class ResNet(nn.Module):
    """ImageNet-style ResNet with basic blocks (torchvision's names)."""

    @he_initialised  # cnnlab's choice for its zoo; the layers default to PyTorch's
    def __init__(self, blocks: list, num_classes: int = 1000, in_channels: int = 3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        planes = 64
        for i, (width, count) in enumerate(zip((64, 128, 256, 512), blocks)):
            layer = []
            for j in range(count):
                stride = 2 if (i > 0 and j == 0) else 1
                layer.append(BasicBlock(planes, width, stride, shortcut="B"))
                planes = width
            setattr(self, f"layer{i + 1}", nn.Sequential(*layer))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))

    def fuse_model(self) -> None:
        """Fold the stem's batch norm and ReLU into its conv (``model.fuse()``)."""
        fuse_modules(self, ["conv1", "bn1", "relu"])


def _register_cifar(depth: int, residual: bool) -> None:
    name = f"{'resnet' if residual else 'plain'}{depth}"

    @register(name, input_shape=(3, 32, 32), num_classes=10)
    def factory(
        num_classes: int = 10, in_channels: int = 3, shortcut: str = "A", **options
    ) -> CifarResNet:
        return CifarResNet(depth, num_classes, in_channels, shortcut, residual, **options)

    factory.__name__ = name
    factory.__doc__ = (
        f"{'ResNet' if residual else 'Plain net'}-{depth} for 32x32 inputs (He et al. 2016)"
    )


for _depth in (20, 32, 44, 56, 110):
    _register_cifar(_depth, True)
    _register_cifar(_depth, False)


@register("resnet18", input_shape=(3, 224, 224), num_classes=1000)
def resnet18(num_classes: int = 1000, in_channels: int = 3) -> ResNet:
    return ResNet([2, 2, 2, 2], num_classes, in_channels)


@register("resnet34", input_shape=(3, 224, 224), num_classes=1000)
def resnet34(num_classes: int = 1000, in_channels: int = 3) -> ResNet:
    return ResNet([3, 4, 6, 3], num_classes, in_channels)

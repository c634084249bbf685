"""DCGAN (Radford et al. 2016): a generator of transposed convolutions with batch norm and
ReLU (tanh output), a discriminator of strided convolutions with batch norm and LeakyReLU(0.2);
weights drawn from N(0, 0.02), batch-norm scales from N(1, 0.02). Layout and names follow the
PyTorch DCGAN example (``main`` Sequential). ``image_size`` is 32 or 64 (a power of two, >= 16);
the discriminator returns logits (use BCEWithLogitsLoss)."""

from __future__ import annotations

import math

from cnnlab import nn
from cnnlab.models.registry import register


def dcgan_init_(module: nn.Module) -> None:
    """Radford et al.'s initialisation, applied to every conv and batch-norm layer."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _levels(image_size: int) -> int:
    n = int(math.log2(image_size))
    if 2**n != image_size or image_size < 16:
        raise ValueError(f"DCGAN: image_size must be a power of two >= 16, got {image_size}")
    return n - 2  # 4x4 feature map after the first layer, doubled each level


class Generator(nn.Module):
    def __init__(self, nz: int = 100, ngf: int = 64, out_channels: int = 3, image_size: int = 64):
        super().__init__()
        self.nz = nz
        levels = _levels(image_size)
        width = ngf * 2 ** (levels - 1)
        layers = [
            nn.ConvTranspose2d(nz, width, 4, 1, 0, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
        ]
        for _ in range(levels - 1):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width // 2),
                nn.ReLU(True),
            ]
            width //= 2
        layers += [nn.ConvTranspose2d(width, out_channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, z):
        if z.ndim == 2:
            z = z.reshape(z.shape[0], z.shape[1], 1, 1)
        return self.main(z)


class Discriminator(nn.Module):
    def __init__(self, ndf: int = 64, in_channels: int = 3, image_size: int = 64):
        super().__init__()
        levels = _levels(image_size)
        layers = [nn.Conv2d(in_channels, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        width = ndf
        for _ in range(levels - 1):
            layers += [
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width * 2),
                nn.LeakyReLU(0.2, True),
            ]
            width *= 2
        layers += [nn.Conv2d(width, 1, 4, 1, 0, bias=False)]
        self.main = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, x):
        return self.main(x).flatten(1)


@register("dcgan_generator", input_shape=(100, 1, 1), num_classes=None)
def dcgan_generator(
    num_classes=None,
    in_channels: int = 100,
    out_channels: int = 3,
    ngf: int = 64,
    image_size: int = 64,
) -> Generator:
    """``in_channels`` is the latent size nz."""
    return Generator(in_channels, ngf, out_channels, image_size)


@register("dcgan_discriminator", input_shape=(3, 64, 64), num_classes=None)
def dcgan_discriminator(
    num_classes=None, in_channels: int = 3, ndf: int = 64, image_size: int = 64
) -> Discriminator:
    return Discriminator(ndf, in_channels, image_size)

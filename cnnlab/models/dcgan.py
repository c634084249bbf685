"""DCGAN (Radford et al. 2016): a generator of transposed convolutions with batch norm and
ReLU (tanh output), a discriminator of strided convolutions with batch norm and LeakyReLU(0.2);
weights drawn from N(0, 0.02), batch-norm scales from N(1, 0.02). Layout and names follow the
PyTorch DCGAN example (``main`` Sequential). ``image_size`` is a power of two >= 16 (32, 64)
or 7 times one (28 for MNIST-sized images: a 7x7 first map); the discriminator returns logits
(use BCEWithLogitsLoss). ``num_classes`` makes both conditional (Mirza and Osindero 2014): the
generator reads a one-hot class next to the latent code; the discriminator either reads one-hot
class maps next to the image channels (``conditioning="concat"``) or projects the class onto its
last feature map (``conditioning="projection"``, Miyato and Koyama 2018): its logit is
``<w, phi(x)> + <e_y, phi(x)>`` with ``w`` the unconditional head's kernel and ``e_y`` a learnt
class embedding of the same shape (DCGAN's head is linear in the whole last map, not pooled,
so the embedding keeps the positions: a shirt's sleeves and a T-shirt's are told apart by
where they end)."""

from __future__ import annotations

import math

import numpy as np

import cnnlab
from cnnlab import nn
from cnnlab.models.he_init import he_initialised
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


def _levels(image_size: int) -> tuple[int, int]:
    """``(side of the first map, number of levels)``: a 4x4 (or 7x7) map after the first
    layer, doubled each level."""
    for start in (4, 7):
        n = round(math.log2(max(image_size, 1) / start))
        if start * 2**n == image_size and n >= 2:
            return start, n
    raise ValueError(
        f"DCGAN: image_size must be a power of two >= 16 or 7 times one >= 28, got {image_size}"
    )


def _one_hot(y, num_classes: int, like):
    """(N,) class indices -> (N, num_classes) float one-hot in ``like``'s dtype."""
    idx = np.asarray(y.numpy() if hasattr(y, "numpy") else y, dtype=np.int64).reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f"DCGAN: class labels must be in [0, {num_classes}), got {idx}")
    return cnnlab.tensor(np.eye(num_classes, dtype=like.array.dtype)[idx])


def _needs_labels(name: str, num_classes: int, y) -> None:
    if num_classes and y is None:
        raise ValueError(f"DCGAN {name}: conditional on {num_classes} classes, give labels y")
    if not num_classes and y is not None:
        raise ValueError(f"DCGAN {name}: not conditional (num_classes=0), got labels")


class Generator(nn.Module):
    @he_initialised  # the draws dcgan_init_ then replaces, as before PyTorch's default
    def __init__(
        self,
        nz: int = 100,
        ngf: int = 64,
        out_channels: int = 3,
        image_size: int = 64,
        num_classes: int = 0,
    ):
        super().__init__()
        self.nz, self.num_classes, self.image_size = nz, num_classes, image_size
        start, levels = _levels(image_size)
        width = ngf * 2 ** (levels - 1)
        layers = [
            nn.ConvTranspose2d(nz + num_classes, width, start, 1, 0, bias=False),
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

    def forward(self, z, y=None):
        """Shape: z (N, nz) or (N, nz, 1, 1), y (N,) class indices if conditional;
        output (N, out_channels, image_size, image_size) in [-1, 1]."""
        _needs_labels("generator", self.num_classes, y)
        if z.ndim == 4:
            z = z.reshape(z.shape[0], z.shape[1])
        if self.num_classes:
            z = cnnlab.cat([z, _one_hot(y, self.num_classes, z)], dim=1)
        return self.main(z.reshape(z.shape[0], z.shape[1], 1, 1))


CONDITIONING = ("concat", "projection")


class Discriminator(nn.Module):
    @he_initialised  # the draws dcgan_init_ then replaces, as before PyTorch's default
    def __init__(
        self,
        ndf: int = 64,
        in_channels: int = 3,
        image_size: int = 64,
        num_classes: int = 0,
        conditioning: str = "concat",
    ):
        super().__init__()
        if conditioning not in CONDITIONING:
            raise ValueError(
                f"DCGAN discriminator: conditioning must be one of {CONDITIONING}, "
                f"got {conditioning!r}"
            )
        self.num_classes, self.image_size = num_classes, image_size
        self.conditioning = conditioning if num_classes else None
        start, levels = _levels(image_size)
        maps = num_classes if self.conditioning == "concat" else 0
        layers = [
            nn.Conv2d(in_channels + maps, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, True),
        ]
        width = ndf
        for _ in range(levels - 1):
            layers += [
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width * 2),
                nn.LeakyReLU(0.2, True),
            ]
            width *= 2
        layers += [nn.Conv2d(width, 1, start, 1, 0, bias=False)]
        self.main = nn.Sequential(*layers)
        if self.conditioning == "projection":
            # e_y = embed(one_hot(y)): one kernel of the head's shape per class
            self.embed = nn.Linear(num_classes, width * start * start, bias=False)
        dcgan_init_(self)
        if self.conditioning == "projection":
            nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, x, y=None):
        """Shape: x (N, in_channels, image_size, image_size), y (N,) if conditional;
        output (N, 1) logits."""
        _needs_labels("discriminator", self.num_classes, y)
        if self.conditioning == "concat":
            n, _, h, w = x.shape
            maps = _one_hot(y, self.num_classes, x).reshape(n, self.num_classes, 1, 1)
            x = cnnlab.cat([x, maps * cnnlab.ones(n, self.num_classes, h, w)], dim=1)
        if self.conditioning != "projection":
            return self.main(x).flatten(1)
        phi = self.main[:-1](x)
        e = self.embed(_one_hot(y, self.num_classes, x))
        return self.main[-1](phi).flatten(1) + (phi.flatten(1) * e).sum(1, keepdim=True)


@register("dcgan_generator", input_shape=(100, 1, 1), num_classes=None)
def dcgan_generator(
    num_classes=None,
    in_channels: int = 100,
    out_channels: int = 3,
    ngf: int = 64,
    image_size: int = 64,
    conditional_classes: int = 0,
) -> Generator:
    """``in_channels`` is the latent size nz; ``conditional_classes`` > 0 makes it conditional."""
    return Generator(in_channels, ngf, out_channels, image_size, conditional_classes)


@register("dcgan_discriminator", input_shape=(3, 64, 64), num_classes=None)
def dcgan_discriminator(
    num_classes=None,
    in_channels: int = 3,
    ndf: int = 64,
    image_size: int = 64,
    conditional_classes: int = 0,
    conditioning: str = "concat",
) -> Discriminator:
    """``conditional_classes`` > 0 makes it conditional: class maps as extra input channels
    (``conditioning="concat"``) or a class embedding projected onto the last feature map
    (``"projection"``, Miyato and Koyama 2018)."""
    return Discriminator(ndf, in_channels, image_size, conditional_classes, conditioning)

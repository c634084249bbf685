"""The experiments' own network variants, built from cnnlab's layers and the zoo.

Each builder returns an ordinary ``nn.Module``; the experiments pass them to
``cnnlab.train.run.train(build_model=...)``, so every variant trains through the same loop,
logs and checkpoints as ``cnnlab train``.
"""

from __future__ import annotations

import math

from cnnlab import models, nn
from cnnlab.models.he_init import he_initialised
from cnnlab.nn import init as nn_init

__all__ = [
    "ABLATIONS",
    "ACTIVATIONS",
    "INITS",
    "POOLINGS",
    "ablated_alexnet",
    "apply_init",
    "deep_mlp",
    "pooling_cnn",
]

ACTIVATIONS = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
}

# weight initialisations of the init experiment: name -> std as a function of (fan_in, fan_out)
INITS = {
    "he": lambda k, m: math.sqrt(2.0 / k),  # He et al. 2015: N(0, 2/k)
    "xavier": lambda k, m: math.sqrt(2.0 / (k + m)),  # Glorot & Bengio 2010
    "small": lambda k, m: 0.01,  # N(0, 0.01^2)
    "large": lambda k, m: 1.0,  # N(0, 1)
}


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}: expected one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def apply_init(model: nn.Module, name: str) -> nn.Module:
    """Draw every Linear and Conv2d weight from N(0, std^2) of :data:`INITS`; biases zero."""
    if name not in INITS:
        raise ValueError(f"unknown init {name!r}: expected one of {', '.join(INITS)}")
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            fan_in, fan_out = nn_init._calculate_fan_in_and_fan_out(m.weight)
            nn_init.normal_(m.weight, 0.0, INITS[name](fan_in, fan_out))
            if m.bias is not None:
                nn_init.zeros_(m.bias)
    return model


def deep_mlp_budgets(depth: int) -> dict:
    """The budgets of the experiments that train a deep MLP of ``depth`` layers (init,
    activation): the same data, schedule and evaluation at each budget, so their figures
    compare."""
    common = {"depth": depth, "batch_size": 128, "lr": 0.01}
    return {
        "quick": dict(
            common, width=128, epochs=1, limit=6400, test_limit=1000, eval_every=10, eval_images=500
        ),
        "standard": dict(
            common,
            width=128,
            epochs=2,
            limit=20000,
            test_limit=5000,
            eval_every=25,
            eval_images=1000,
        ),
        "full": dict(
            common,
            width=256,
            epochs=10,
            limit=None,
            test_limit=None,
            eval_every=200,
            eval_images=2000,
        ),
    }


@he_initialised
def deep_mlp(
    in_features: int,
    num_classes: int = 10,
    depth: int = 30,
    width: int = 128,
    activation: str = "relu",
    init: str | None = None,
    batch_norm: bool = False,
    dropout: float = 0.0,
) -> nn.Sequential:
    """A plain fully connected network of ``depth`` Linear layers (``depth - 1`` hidden
    layers of ``width`` units, each Linear [-> BatchNorm1d] -> activation, then the output).

    ``init`` names an :data:`INITS` entry (None: He, cnnlab's choice for these nets); ``dropout``
    drops hidden units after each activation with that probability. The init and
    activation experiments use it at depth 20-30, the batch-norm experiment as Ioffe &
    Szegedy's three layers of 100 sigmoid units.

    Shape:
        - input: (N, *) with ``in_features`` elements per sample; output: (N, num_classes)
    """
    if depth < 2:
        raise ValueError(f"deep_mlp: depth must be at least 2, got {depth}")
    layers: list = [nn.Flatten()]
    fan_in = in_features
    for _ in range(depth - 1):
        layers.append(nn.Linear(fan_in, width, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(_activation(activation))
        if dropout:
            layers.append(nn.Dropout(dropout))
        fan_in = width
    layers.append(nn.Linear(fan_in, num_classes))
    model = nn.Sequential(*layers)
    return apply_init(model, init) if init is not None else model


POOLINGS = ("max", "avg", "strided", "none")


@he_initialised
def pooling_cnn(
    in_channels: int = 1,
    num_classes: int = 10,
    input_size: int = 28,
    pooling: str = "max",
    widths: tuple = (32, 64),
    batch_norm: bool = False,
    activation: str = "relu",
) -> nn.Sequential:
    """conv3x3 -> [BN] -> activation -> downsample, per width, then a linear classifier.

    ``pooling``: ``'max'`` or ``'avg'`` (2x2 pooling), ``'strided'`` (the conv itself has
    stride 2) or ``'none'`` (full resolution to the classifier).

    Shape:
        - input: (N, in_channels, input_size, input_size); output: (N, num_classes)
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling_cnn: pooling must be one of {POOLINGS}, got {pooling!r}")
    layers, c, side = [], in_channels, input_size
    for w in widths:
        stride = 2 if pooling == "strided" else 1
        layers.append(nn.Conv2d(c, w, 3, stride=stride, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(w))
        layers.append(_activation(activation))
        if pooling == "max":
            layers.append(nn.MaxPool2d(2))
        elif pooling == "avg":
            layers.append(nn.AvgPool2d(2))
        if pooling != "none":
            side = (side + 1) // 2 if pooling == "strided" else side // 2
        c = w
    layers += [nn.Flatten(), nn.Linear(c * side * side, num_classes)]
    return nn.Sequential(*layers)


ABLATIONS = {  # the deck's slides: which AlexNet layers go
    "full": (),
    "no-fc7": ("fc7",),
    "no-fc6-fc7": ("fc6", "fc7"),
    "no-conv3-conv4": ("conv3", "conv4"),
    "no-conv3-conv4-fc6-fc7": ("conv3", "conv4", "fc6", "fc7"),
}


@he_initialised
def ablated_alexnet(
    drop: tuple = (), num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5
) -> nn.Module:
    """The zoo's ``alexnet_small`` with the named layers (``conv3``, ``conv4``, ``fc6``,
    ``fc7``) removed; the layer after a removed one takes the width that now reaches it.

    Shape:
        - input: (N, in_channels, H, W) with H, W >= 8; output: (N, num_classes)
    """
    unknown = set(drop) - {"conv3", "conv4", "fc6", "fc7"}
    if unknown:
        raise ValueError(f"ablated_alexnet: cannot drop {sorted(unknown)}")
    model = models.create("alexnet_small", num_classes=num_classes, in_channels=in_channels)
    f = list(model.features)  # conv1 relu pool conv2 relu pool conv3 relu conv4 relu conv5 ...
    convs = {"conv1": f[0], "conv2": f[3], "conv3": f[6], "conv4": f[8], "conv5": f[10]}
    kept, c = [], in_channels
    for name, conv in convs.items():
        if name in drop:
            continue
        if conv.in_channels != c:  # the layer before it was removed
            conv = nn.Conv2d(c, conv.out_channels, conv.kernel_size, padding=conv.padding)
        kept.append(conv)
        kept.append(nn.ReLU(inplace=True))
        if name in ("conv1", "conv2", "conv5"):
            kept.append(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        c = conv.out_channels
    model.features = nn.Sequential(*kept)
    cl = list(model.classifier)  # dropout fc6 relu dropout fc7 relu fc8
    fcs = {"fc6": (cl[0], cl[1]), "fc7": (cl[3], cl[4]), "fc8": (None, cl[6])}
    head, n = [], cl[1].in_features
    for name, (drop_layer, fc) in fcs.items():
        if name in drop:
            continue
        if fc.in_features != n:
            fc = nn.Linear(n, fc.out_features)
        if drop_layer is not None:
            head.append(nn.Dropout(dropout))
        head.append(fc)
        if name != "fc8":
            head.append(nn.ReLU(inplace=True))
        n = fc.out_features
    model.classifier = nn.Sequential(*head)
    return model

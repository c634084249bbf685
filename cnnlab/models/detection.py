"""A one-stage, anchor-free detector: CenterNet ("Objects as Points", Zhou et al., 2019) sized
for the 64x64 scenes.

Each object is its box centre. The network maps the image, at output stride 4, to a 16x16
grid of: a heat map per class (the probability that an object of that class has its
centre in the cell), the box's width and height, and the sub-cell offset of the centre.
Decoding keeps the local maxima of the heat maps (a 3x3 max-pool stands in for
non-maximum suppression), takes the top ``k`` and reads the box at each.

Why this and not anchors (SSD, YOLO): the scenes hold one to four items of 10 to 28
pixels that never touch, so one centre per cell is never ambiguous and the anchor set's
shapes, sizes and matching thresholds would be tuning with nothing to gain; the whole
model is a plain fully convolutional net with three 1x1 heads, cheap on 2 cores and
simple to export to ONNX.

The body: conv-BN-ReLU stages down to stride 4 (64 -> 32 -> 16; 24, 48, 96 channels),
then dilated 3x3 convs (rates 2 and 4) so that each output cell sees about 70 pixels
around it (the whole item it must classify and measure); a shared 3x3 conv-ReLU (96),
then the 1x1 heads. Widths 16, 32, 64 cost half as much per step and score mAP@0.5 0.851
against 0.885 after the same 3,752 steps (docs/guides/detection.md): naming the class,
not finding the box, is the hard part. The heat-map bias starts at -log((1 - 0.1) / 0.1)
(every cell a centre with probability 0.1), the papers' prior, so the focal loss starts in
a sane range.

Output: one tensor (N, num_classes + 4, H/4, W/4): heat-map logits, then (w, h) and
(dx, dy), both in output cells.
"""

from __future__ import annotations

import math

import numpy as np

import cnnlab
from cnnlab import nn
from cnnlab.models.he_init import he_initialised
from cnnlab.models.registry import register
from cnnlab.models.segmentation import conv_bn_relu

__all__ = ["CenterNet", "centernet_small", "decode_centernet"]

PRIOR = 0.1  # the heat map's starting probability per cell


class CenterNet(nn.Module):
    """CenterNet on a small convolutional body (see the module docstring).

    Args:
        num_classes: object classes (no background class: the heat maps are per class).
        in_channels: image channels.
        widths: channels of the stride-1, stride-2 and stride-4 stages.
        head_width: channels of the shared head conv.

    Shape: (N, in_channels, H, W), H and W multiples of 4 ->
    (N, num_classes + 4, H / 4, W / 4).
    """

    stride = 4

    @he_initialised  # cnnlab's choice for its zoo; the layers default to PyTorch's
    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        widths=(24, 48, 96),
        head_width: int = 96,
    ) -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if num_classes < 1 or len(widths) != 3 or min(widths) < 1 or head_width < 1:
            raise ValueError(
                f"CenterNet: num_classes >= 1, three positive widths and head_width >= 1 "
                f"needed, got {num_classes}, {widths}, {head_width}"
            )
        self.num_classes, self.widths = int(num_classes), widths
        w1, w2, w = widths
        self.body = nn.Sequential(
            conv_bn_relu(in_channels, w1),
            conv_bn_relu(w1, w2, stride=2),
            conv_bn_relu(w2, w2),
            conv_bn_relu(w2, w, stride=2),
            conv_bn_relu(w, w),
            conv_bn_relu(w, w, dilation=2),
            conv_bn_relu(w, w, dilation=4),
        )
        self.head = nn.Sequential(nn.Conv2d(w, head_width, 3, padding=1), nn.ReLU())
        self.heatmap = nn.Conv2d(head_width, num_classes, 1)
        self.size = nn.Conv2d(head_width, 2, 1)
        self.offset = nn.Conv2d(head_width, 2, 1)
        self.reset_heads()

    def reset_heads(self) -> None:
        """The heat map's bias at the prior's logit (every cell a centre with p = 0.1)."""
        with cnnlab.no_grad():
            self.heatmap.bias.fill_(-math.log((1 - PRIOR) / PRIOR))

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, stride={self.stride}"

    def forward(self, x):
        if x.ndim != 4 or x.shape[2] % self.stride or x.shape[3] % self.stride:
            raise ValueError(
                f"CenterNet: input must be (N, C, H, W) with H, W multiples of {self.stride}, "
                f"got {tuple(x.shape)}"
            )
        f = self.head(self.body(x))
        return cnnlab.cat([self.heatmap(f), self.size(f), self.offset(f)], dim=1)


def _peaks(heat: np.ndarray) -> np.ndarray:
    """``heat`` where it is the maximum of its 3x3 neighbourhood, else 0 (same shape)."""
    h, w = heat.shape[-2:]
    padded = np.pad(heat, [(0, 0)] * (heat.ndim - 2) + [(1, 1), (1, 1)], constant_values=-1)
    best = heat.copy()
    for dy in range(3):
        for dx in range(3):
            np.maximum(best, padded[..., dy : dy + h, dx : dx + w], out=best)
    return np.where(heat == best, heat, 0.0)


def decode_centernet(
    output, stride: int = 4, k: int = 50, score_threshold: float = 0.01, iou_threshold=0.6
) -> list[dict]:
    """Boxes from a CenterNet output: the top ``k`` heat-map peaks of each image with score
    above ``score_threshold``, each read as a box; then per-class non-maximum suppression
    (:func:`cnnlab.vision.ops.batched_nms`) at ``iou_threshold`` (None: skip it) to drop
    the rare second peak on one item.

    Args:
        output: the model's output, a Tensor or array (N, classes + 4, h, w).
        stride: the output stride (input pixels per output cell).
        k: the most detections per image.
        score_threshold: lowest heat-map probability kept.
        iou_threshold: the NMS threshold, or None.

    Returns one dict per image: ``boxes`` (K, 4) float32 ``(x1, y1, x2, y2)`` in input
    pixels, ``scores`` (K,) float32, ``labels`` (K,) int64, by decreasing score.
    """
    from cnnlab import backend
    from cnnlab.vision.ops import batched_nms

    out = backend.to_numpy(getattr(output, "array", output)).astype(np.float64)
    if out.ndim != 4 or out.shape[1] < 5:
        raise ValueError(
            f"decode_centernet: output must be (N, classes + 4, h, w), got {out.shape}"
        )
    n, c4, h, w = out.shape
    c = c4 - 4
    heat = _peaks(1.0 / (1.0 + np.exp(-out[:, :c])))
    results = []
    for i in range(n):
        flat = heat[i].reshape(-1)
        top = np.argsort(-flat, kind="stable")[: min(k, flat.size)]
        top = top[flat[top] > score_threshold]
        cls, rest = np.divmod(top, h * w)
        ys, xs = np.divmod(rest, w)
        bw, bh = out[i, c, ys, xs], out[i, c + 1, ys, xs]
        cx, cy = xs + out[i, c + 2, ys, xs], ys + out[i, c + 3, ys, xs]
        boxes = stride * np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
        scores = flat[top]
        if iou_threshold is not None and len(top):
            keep = batched_nms(boxes, scores, cls, iou_threshold)
            boxes, scores, cls = boxes[keep], scores[keep], cls[keep]
        results.append(
            {
                "boxes": boxes.astype(np.float32).reshape(-1, 4),
                "scores": scores.astype(np.float32),
                "labels": cls.astype(np.int64),
            }
        )
    return results


@register("centernet_small", input_shape=(1, 64, 64), num_classes=10, task="detect")
def centernet_small(num_classes: int = 10, in_channels: int = 1, **options) -> CenterNet:
    """CenterNet detector for 64x64 scenes: class heat maps, sizes and offsets at stride 4."""
    return CenterNet(num_classes, in_channels, **options)

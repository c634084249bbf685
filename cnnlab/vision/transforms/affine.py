"""torchvision's affine transforms: RandomAffine, RandomRotation and the functions ``affine``
and ``rotate``, on PIL Images (through PIL's own resampling, as torchvision does) and on
Tensors (..., C, H, W) (sampled here, as torchvision's ``grid_sample`` path).

The geometry, in pixel coordinates (x to the right, y down, pixel centres at i + 0.5, the
centre ``c`` of the image at (W/2, H/2) unless given): an input point p goes to

    p' = c + t + s · R(a) · Sh(sx, sy) · (p - c)

with ``R(a)`` the rotation by ``a`` degrees (clockwise on screen, torchvision's ``affine``
convention; ``rotate`` turns the other way, as PIL's ``rotate``) and ``Sh`` the shear. An
output pixel is filled from the input point its inverse map lands on: nearest or bilinear,
``fill`` outside the image.
"""

from __future__ import annotations

import math
from numbers import Number

import numpy as np

from cnnlab.data.transforms import current_rng
from cnnlab.vision.transforms.conversion import is_pil
from cnnlab.vision.transforms.geometry import InterpolationMode, _planes

__all__ = ["RandomAffine", "RandomRotation", "affine", "rotate"]


def _forward_linear(angle: float, scale: float, shear) -> np.ndarray:
    """The 2x2 ``s · R(a) · Sh`` (torchvision's rotation-scale-shear, closed form)."""
    a, sx, sy = (math.radians(v) for v in (angle, shear[0], shear[1]))
    cy = math.cos(sy)
    m = np.array(
        [
            [math.cos(a - sy) / cy, -math.cos(a - sy) * math.tan(sx) / cy - math.sin(a)],
            [math.sin(a - sy) / cy, -math.sin(a - sy) * math.tan(sx) / cy + math.cos(a)],
        ]
    )
    return scale * m


def inverse_affine_matrix(center, angle, translate, scale, shear) -> list:
    """The six numbers ``(a, b, c, d, e, f)`` mapping an output point (x, y) back to the
    input point (a x + b y + c, d x + e y + f): the inverse of the map above."""
    inv = np.linalg.inv(_forward_linear(angle, scale, shear))
    cx, cy = center
    tx, ty = translate
    # p = c + M^-1 (p' - c - t)  =>  offset = c - M^-1 (c + t)
    offset = np.array([cx, cy]) - inv @ np.array([cx + tx, cy + ty])
    return [inv[0, 0], inv[0, 1], offset[0], inv[1, 0], inv[1, 1], offset[1]]


def _sample(a: np.ndarray, matrix, out_hw, mode: str, fill) -> np.ndarray:
    """Output (..., C, oh, ow) with each pixel centre mapped through ``matrix`` into ``a``."""
    h, w = a.shape[-2:]
    oh, ow = out_hw
    ys, xs = np.meshgrid(np.arange(oh) + 0.5, np.arange(ow) + 0.5, indexing="ij")
    m = matrix
    # input coordinates of each output pixel centre, shifted so pixel i's centre is at i
    x_in = m[0] * xs + m[1] * ys + m[2] - 0.5
    y_in = m[3] * xs + m[4] * ys + m[5] - 0.5
    src = a.astype(np.float32) if not np.issubdtype(a.dtype, np.floating) else a
    if mode == "nearest":
        xi, yi = np.rint(x_in).astype(np.int64), np.rint(y_in).astype(np.int64)
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        out = src[..., np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)] * inside
        weight = inside.astype(src.dtype)
    else:
        x0, y0 = np.floor(x_in).astype(np.int64), np.floor(y_in).astype(np.int64)
        fx, fy = (x_in - x0).astype(src.dtype), (y_in - y0).astype(src.dtype)
        out = np.zeros(a.shape[:-2] + (oh, ow), src.dtype)
        weight = np.zeros((oh, ow), src.dtype)
        for dy, dx, wgt in (
            (0, 0, (1 - fy) * (1 - fx)),
            (0, 1, (1 - fy) * fx),
            (1, 0, fy * (1 - fx)),
            (1, 1, fy * fx),
        ):
            xx, yy = x0 + dx, y0 + dy
            inside = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
            wgt = wgt * inside
            out += src[..., np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)] * wgt
            weight += wgt
    if fill is not None and np.any(np.asarray(fill) != 0):
        fills = np.asarray(fill, src.dtype).reshape(-1, 1, 1)
        # as torchvision's: the sampled value weighted by how much of it fell inside
        out = out * weight + (1 - weight) * fills
    if a.dtype == np.uint8:
        out = np.clip(np.round(out), 0, 255)
    return out.astype(a.dtype)


def _mode(interpolation) -> str:
    mode = InterpolationMode(getattr(interpolation, "value", interpolation)).value
    if mode not in ("nearest", "bilinear"):
        raise ValueError(f"affine: interpolation should be NEAREST or BILINEAR, got {mode!r}")
    return mode


def _pil_fill(img, fill):
    if fill is None:
        return None
    bands = len(img.getbands())
    fill = [fill] * bands if isinstance(fill, Number) else list(fill)
    fill = [int(v) if img.mode != "F" else float(v) for v in fill]
    return fill[0] if bands == 1 else tuple(fill[:bands])


def affine(
    img,
    angle: float,
    translate,
    scale: float,
    shear,
    interpolation=InterpolationMode.NEAREST,
    fill=None,
    center=None,
):
    """Rotate by ``angle`` degrees (clockwise), shift by ``translate`` pixels, scale and
    shear (``shear``: one angle for x, or ``(x, y)``) about ``center``, as torchvision's
    ``F.affine``; the image keeps its size and kind."""
    shear = (float(shear), 0.0) if isinstance(shear, Number) else tuple(map(float, shear))
    shear = shear if len(shear) == 2 else (shear[0], 0.0)
    a, pack = _planes(img, "affine")
    h, w = a.shape[-2:]
    c = (w * 0.5, h * 0.5) if center is None else tuple(center)
    matrix = inverse_affine_matrix(c, angle, translate, scale, shear)
    if is_pil(img):
        from PIL import Image

        resample = Image.NEAREST if _mode(interpolation) == "nearest" else Image.BILINEAR
        return img.transform(
            img.size, Image.AFFINE, matrix, resample, fillcolor=_pil_fill(img, fill)
        )
    return pack(_sample(a, matrix, (h, w), _mode(interpolation), fill))


def rotate(
    img, angle: float, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=None
):
    """Rotate counter-clockwise by ``angle`` degrees about ``center`` (the image centre by
    default); ``expand`` grows the output to hold the whole rotated image."""
    if is_pil(img):
        from PIL import Image

        resample = Image.NEAREST if _mode(interpolation) == "nearest" else Image.BILINEAR
        return img.rotate(angle, resample, expand, center, fillcolor=_pil_fill(img, fill))
    a, pack = _planes(img, "rotate")
    h, w = a.shape[-2:]
    c = (w * 0.5, h * 0.5) if center is None else tuple(center)
    matrix = inverse_affine_matrix(c, -angle, (0.0, 0.0), 1.0, (0.0, 0.0))
    out_hw = (h, w)
    if expand:
        # the rotated corners' bounding box, in the input's pixel coordinates, each side
        # rounded outwards to whole pixels after dropping what is below 1e-4 (as PIL and
        # torchvision round it)
        fwd = _forward_linear(-angle, 1.0, (0.0, 0.0))
        turned = fwd @ (np.array([[-w, -h], [w, -h], [w, h], [-w, h]], float).T * 0.5)
        turned += np.array([[w * 0.5], [h * 0.5]])
        hi = np.ceil(np.trunc(turned.max(axis=1) / 1e-4) * 1e-4)
        lo = np.floor(np.trunc(turned.min(axis=1) / 1e-4) * 1e-4)
        ow, oh = (int(v) for v in hi - lo)
        shift = ((ow - w) * 0.5, (oh - h) * 0.5)
        matrix[2] -= matrix[0] * shift[0] + matrix[1] * shift[1]
        matrix[5] -= matrix[3] * shift[0] + matrix[4] * shift[1]
        out_hw = (oh, ow)
    return pack(_sample(a, matrix, out_hw, _mode(interpolation), fill))


def _range(value, name: str, center: float = 0.0) -> tuple:
    if isinstance(value, Number):
        if value < 0:
            raise ValueError(f"{name}: if it is a single number, it must be positive, got {value}")
        return (center - value, center + value)
    if len(value) != 2:
        raise ValueError(f"{name}: if it is a sequence, it must be of length 2, got {value}")
    return (float(value[0]), float(value[1]))


class RandomRotation:
    """Rotate by an angle drawn from ``degrees`` (``d`` means (-d, d)), as torchvision's."""

    def __init__(
        self, degrees, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=0
    ):
        self.degrees = _range(degrees, "RandomRotation: degrees")
        self.interpolation, self.expand, self.center, self.fill = (
            interpolation,
            expand,
            center,
            fill,
        )

    def __call__(self, img):
        angle = float(current_rng().uniform(*self.degrees))
        return rotate(img, angle, self.interpolation, self.expand, self.center, self.fill)

    def __repr__(self) -> str:
        return f"RandomRotation(degrees={list(self.degrees)}, expand={self.expand})"


class RandomAffine:
    """A random rotation (``degrees``), shift (``translate``: the largest fractions of width
    and height), ``scale`` and ``shear``, as torchvision's ``RandomAffine``."""

    def __init__(
        self,
        degrees,
        translate=None,
        scale=None,
        shear=None,
        interpolation=InterpolationMode.NEAREST,
        fill=0,
        center=None,
    ):
        self.degrees = _range(degrees, "RandomAffine: degrees")
        if translate is not None and not all(0.0 <= t <= 1.0 for t in translate):
            raise ValueError(f"RandomAffine: translate values should be in [0, 1], got {translate}")
        if scale is not None and (len(scale) != 2 or min(scale) <= 0):
            raise ValueError(f"RandomAffine: scale should be two positive numbers, got {scale}")
        self.translate, self.scale = translate, scale
        if shear is None or isinstance(shear, Number) or len(shear) == 2:
            self.shear = None if shear is None else _range(shear, "RandomAffine: shear")
        elif len(shear) == 4:
            self.shear = tuple(map(float, shear))
        else:
            raise ValueError(f"RandomAffine: shear should be 1, 2 or 4 numbers, got {shear}")
        self.interpolation, self.fill, self.center = interpolation, fill, center

    def get_params(self, width: int, height: int) -> tuple:
        """``(angle, (tx, ty), scale, (shear_x, shear_y))`` for one image."""
        rng = current_rng()
        angle = float(rng.uniform(*self.degrees))
        tx = ty = 0
        if self.translate is not None:
            tx = int(round(rng.uniform(-1, 1) * self.translate[0] * width))
            ty = int(round(rng.uniform(-1, 1) * self.translate[1] * height))
        scale = float(rng.uniform(*self.scale)) if self.scale is not None else 1.0
        shear = (0.0, 0.0)
        if self.shear is not None:
            shear = (float(rng.uniform(*self.shear[:2])), 0.0)
            if len(self.shear) == 4:
                shear = (shear[0], float(rng.uniform(*self.shear[2:])))
        return angle, (tx, ty), scale, shear

    def __call__(self, img):
        if is_pil(img):
            width, height = img.size
        else:
            height, width = _planes(img, "RandomAffine")[0].shape[-2:]
        angle, translate, scale, shear = self.get_params(width, height)
        return affine(
            img, angle, translate, scale, shear, self.interpolation, self.fill, self.center
        )

    def __repr__(self) -> str:
        return (
            f"RandomAffine(degrees={list(self.degrees)}, translate={self.translate}, "
            f"scale={self.scale}, shear={self.shear})"
        )

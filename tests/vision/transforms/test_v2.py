"""transforms.v2: v1's classes under the same names, ToImage and ToDtype, reachable as
``torchvision.transforms.v2`` in a script run by ``cnnlab run``."""

import numpy as np
import pytest
from PIL import Image

import cnnlab
from cnnlab.run import alias
from cnnlab.vision import transforms as T
from cnnlab.vision.transforms import v2


def test_v2_pipeline_gives_what_v1_gives():
    a = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    img = Image.fromarray(a)
    image = v2.ToImage()(img)
    assert image.dtype == np.uint8 and image.shape == (3, 7, 5)
    new = v2.Compose(
        [v2.ToImage(), v2.ToDtype(cnnlab.float32, scale=True), v2.Normalize([0.5] * 3, [0.2] * 3)]
    )
    old = T.Compose([T.ToTensor(), T.Normalize([0.5] * 3, [0.2] * 3)])
    np.testing.assert_allclose(new(img).array, old(img).array, rtol=1e-6)
    back = v2.ToDtype(np.uint8, scale=True)(v2.ToDtype(cnnlab.float32, scale=True)(image))
    np.testing.assert_array_equal(back.array, a.transpose(2, 0, 1))
    assert v2.ToDtype({"image": cnnlab.float32, "others": None})(image).dtype == np.float32
    assert (
        v2.RandomResizedCrop is T.RandomResizedCrop and v2.functional.rotate is T.functional.rotate
    )


def test_to_image_refuses_other_inputs():
    with pytest.raises(
        TypeError, match="ToImage: expected a PIL Image, ndarray or Tensor, got list"
    ):
        v2.ToImage()([1, 2])


def test_torchvision_transforms_v2_resolves_under_cnnlab_run():
    alias.install()
    try:
        import torchvision.transforms.v2.functional as F  # noqa: PLC0415
        from torchvision.transforms import v2 as imported  # noqa: PLC0415

        assert imported is v2 and F.adjust_hue is T.functional.adjust_hue
    finally:
        alias.uninstall()

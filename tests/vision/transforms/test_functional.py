import numpy as np
from PIL import Image

import cnnlab
from cnnlab.vision.transforms import functional as TF


def test_functions_match_their_transforms_and_torchvision_semantics():
    a = np.arange(30, dtype=np.uint8).reshape(5, 6)
    img = Image.fromarray(a)
    t = TF.to_tensor(img)
    assert t.shape == (1, 5, 6) and TF.pil_to_tensor(img).dtype == np.uint8
    np.testing.assert_allclose(TF.normalize(t, (0.0,), (2.0,)).numpy(), t.numpy() / 2)
    np.testing.assert_array_equal(np.asarray(TF.hflip(img)), a[:, ::-1])
    np.testing.assert_array_equal(TF.vflip(t).numpy()[0], t.numpy()[0, ::-1])
    np.testing.assert_array_equal(np.asarray(TF.crop(img, 1, 2, 3, 2)), a[1:4, 2:4])
    out = TF.crop(cnnlab.tensor(a[None]), -1, 4, 3, 3).numpy()[0]  # outside: zeros
    np.testing.assert_array_equal(out, [[0, 0, 0], [4, 5, 0], [10, 11, 0]])
    assert TF.resize(img, 10).size == (12, 10) and TF.center_crop(img, 2).size == (2, 2)
    assert TF.resized_crop(img, 0, 0, 4, 4, (8, 8)).size == (8, 8)
    assert TF.pad(img, 1).size == (8, 7) and TF.to_grayscale(img.convert("RGB")).mode == "L"
    assert TF.to_pil_image(t).mode == "L"

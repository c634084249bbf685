import numpy as np
import pytest
from PIL import Image

import cnnlab
from cnnlab.vision.utils import make_grid, save_image


def test_make_grid_layout_as_torchvision():
    x = np.stack([np.full((1, 2, 3), k, np.float32) for k in range(5)])
    g = make_grid(cnnlab.tensor(x), nrow=3, padding=1, pad_value=-1).numpy()
    # grey becomes 3 channels; 2 rows x 3 columns of (2+1) x (3+1) cells plus the padding
    assert g.shape == (3, 2 * 3 + 1, 3 * 4 + 1)
    assert g[0, 1, 1] == 0 and g[0, 1, 5] == 1 and g[0, 4, 1] == 3 and g[0, 4, 5] == 4
    assert g[0, 0, 0] == -1 and g[0, 4, 9] == -1  # the empty sixth cell keeps pad_value
    norm = make_grid(
        [cnnlab.tensor(np.full((3, 2, 2), 2.0)), cnnlab.tensor(np.zeros((3, 2, 2)))], normalize=True
    )
    assert norm.numpy().max() == 1.0 and norm.numpy().min() == 0.0
    single = make_grid(cnnlab.tensor(x[:1]))
    assert single.shape == (3, 2, 3)
    with pytest.raises(TypeError, match="tensor or list"):
        make_grid("x")


def test_save_image_rounds_to_bytes(tmp_path):
    x = np.full((2, 3, 2, 2), 0.5, np.float32)
    save_image(cnnlab.tensor(x), tmp_path / "g.png", nrow=2, padding=0)
    img = np.asarray(Image.open(tmp_path / "g.png"))
    assert img.shape == (2, 4, 3) and (img == 128).all()  # 0.5 * 255 + 0.5 -> 128

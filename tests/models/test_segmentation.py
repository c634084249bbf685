"""The segmenters: shapes, errors, ONNX round trip, and the dilated net's receptive field
measured against the analytic one."""

import importlib.util

import numpy as np
import pytest

import cnnlab
from cnnlab import models, nn
from cnnlab.inspect import analytic_receptive_field, empirical_receptive_field

NAMES = ["dilated_fcn", "unet_small"]
SMALL = {"dilated_fcn": {"width": 8}, "unet_small": {"widths": (4, 8, 16)}}


@pytest.mark.parametrize("name", NAMES)
def test_registered_with_per_pixel_output_and_one_training_step(name):
    info = models.info(name)
    assert info["input_shape"] == (1, 64, 64) and info["num_classes"] == 11
    assert info["task"] == "segment" and models.info("lenet5")["task"] == "classify"
    cnnlab.manual_seed(0)
    model = models.create(name, num_classes=5, in_channels=3, **SMALL[name])
    x = cnnlab.randn(2, 3, 32, 48)
    out = model(x)
    assert out.shape == (2, 5, 32, 48)
    before = [p.numpy().copy() for p in model.parameters()]
    loss = nn.CrossEntropyLoss()(out, np.zeros((2, 32, 48), np.int64))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    cnnlab.optim.SGD(model.parameters(), lr=0.1).step()
    assert all(not np.array_equal(b, p.numpy()) for b, p in zip(before, model.parameters()))
    twin = models.create(name, num_classes=5, in_channels=3, **SMALL[name])
    twin.load_state_dict(model.state_dict())
    model.eval(), twin.eval()
    np.testing.assert_array_equal(twin(x).numpy(), model(x).numpy())


def test_unet_concatenates_the_skips_and_upsamples_by_transposed_convs():
    model = models.create("unet_small", widths=(4, 8, 16))
    ups = [m for m in model.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.stride) for m in ups] == [
        (16, 8, (2, 2)),
        (8, 4, (2, 2)),
    ]
    assert model.dec[0][0][0].in_channels == 16  # 8 up + 8 skip


def test_sizes_that_do_not_divide_are_refused():
    with pytest.raises(ValueError, match=r"UNet: input must be .* multiples of 16"):
        models.create("unet_small")(cnnlab.zeros(1, 1, 60, 64))
    with pytest.raises(ValueError, match=r"DilatedFCN: input must be \(N, C, H, W\)"):
        models.create("dilated_fcn")(cnnlab.zeros(1, 63, 64))
    with pytest.raises(ValueError, match="ASPP: rates must be positive"):
        models.create("dilated_fcn", rates=(0, 2))


def test_dilated_receptive_field_analytic_equals_measured_and_grows_with_dilation():
    dilated = models.create("dilated_fcn", width=4)
    plain = models.create("dilated_fcn", width=4, dilations=(1, 1), rates=(1, 1, 1))
    assert dilated(cnnlab.zeros(1, 1, 63, 50)).shape == (1, 11, 63, 50)  # any size
    sizes = {}
    for name, model in (("dilated", dilated), ("plain", plain)):
        a = analytic_receptive_field(model, (1, 64, 64))
        e = empirical_receptive_field(model, (1, 64, 64))  # gradient of the centre pixel
        assert (a["rows"], a["cols"]) == (e["rows"], e["cols"]), (name, a, e)
        sizes[name] = a["size"]
    # two 3x3 convs: 5; rates 2 and 4: +4, +8; the ASPP's widest branch (rate 12): +24
    assert sizes == {"dilated": (41, 41), "plain": (11, 11)}


@pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None,
    reason="onnx and onnxruntime are not installed",
)
@pytest.mark.parametrize("name", NAMES)
def test_exports_to_onnx_and_onnxruntime_agrees(tmp_path, name):
    import onnxruntime as ort

    from cnnlab.onnx import export, load

    cnnlab.manual_seed(0)
    model = models.create(name, **SMALL[name])
    model.train()
    with cnnlab.no_grad():  # running statistics of a batch, as a trained net has
        model(cnnlab.rand(4, 1, 64, 64))
    model.eval()
    path = tmp_path / f"{name}.onnx"
    export(model, cnnlab.rand(2, 1, 64, 64), path)
    x = np.random.default_rng(1).random((3, 1, 64, 64), dtype=np.float32)
    with cnnlab.no_grad():
        ours = model(cnnlab.tensor(x)).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {"input": x})[0]
    assert theirs.shape == (3, 11, 64, 64)
    np.testing.assert_allclose(theirs, ours, rtol=1e-4, atol=1e-4)
    back = load(path).eval()  # and cnnlab reads its own export back
    with cnnlab.no_grad():
        np.testing.assert_allclose(back(cnnlab.tensor(x)).numpy(), ours, rtol=1e-4, atol=1e-4)

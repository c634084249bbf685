import numpy as np

from cnnlab import models
from cnnlab.explain import effective_receptive_field
from cnnlab.inspect import analytic_receptive_field


def test_erf_lies_inside_the_theoretical_field_and_peaks_near_the_centre():
    model = models.create("lenet5")
    e = effective_receptive_field(model, (1, 28, 28), layer="features.3", samples=6)
    rf = analytic_receptive_field(model, (1, 28, 28), layer="features.3")
    (r0, r1), (c0, c1) = e.extra["extent"]
    assert rf["rows"][0] <= r0 and r1 <= rf["rows"][1]
    assert rf["cols"][0] <= c0 and c1 <= rf["cols"][1]
    assert e.map.shape == (28, 28) and e.map.sum() > 0
    # mass is centre-weighted: the inner half of the field holds more than its share
    rows, cols = np.arange(28)[:, None], np.arange(28)[None, :]
    cr, cc = (r0 + r1) / 2, (c0 + c1) / 2
    inner = (abs(rows - cr) <= (r1 - r0) / 4) & (abs(cols - cc) <= (c1 - c0) / 4)
    share = inner.sum() / ((r1 - r0 + 1) * (c1 - c0 + 1))
    assert e.map[inner].sum() / e.map.sum() > 1.3 * share


def test_erf_for_one_image_and_one_channel():
    model = models.create("lenet5")
    x = np.random.default_rng(0).random((1, 28, 28), dtype=np.float32)
    e = effective_receptive_field(model, image=x, layer="features.0", channel=2)
    assert e.extra["unit"] == (2, 14, 14) and e.extra["samples"] == 1
    if e.extra["extent"] is not None:  # the unit may be switched off by its ReLU... not here:
        (r0, r1), (c0, c1) = e.extra["extent"]  # features.0 is the conv, before the ReLU
        assert r1 - r0 + 1 <= 5 and c1 - c0 + 1 <= 5

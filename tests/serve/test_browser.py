"""The page in a real headless browser (Debian's chromium): it loads the model, a test image
(or the blank input of a zoo model), and renders a prediction, every layer's feature-map
tiles, an explanation and an attack's new prediction."""

from __future__ import annotations

import re

from tests.serve.browser import dump_dom, serving


def test_page_renders_a_prediction_and_feature_maps(chromium, lab):
    with serving(lab) as url:
        dom = dump_dom(chromium, url)
    pred = re.search(r'<ol id="pred" class="bars">(.*?)</ol>', dom, re.S)
    assert pred, dom[:2000]
    bars = re.findall(r'<span class="bar"><i style="width:([\d.]+)%"', pred.group(1))
    assert len(bars) == 5 and sum(map(float, bars)) <= 100.5
    assert re.search(r'id="input-img" [^>]*src="data:image/png', dom)
    assert len(re.findall(r'alt="[^"]+ channel \d+"', dom)) > 20  # feature-map tiles
    arch = re.search(r'<ol id="arch">(.*?)</ol>', dom, re.S).group(1)
    with lab.use(None) as m:
        assert arch.count("<li") == len(m.rows)  # the architecture column
    assert re.search(r"overlay: class \d+", dom)  # the explanation
    assert re.search(r'<ol class="bars" id="at-pred"><li', dom)  # the attack's prediction
    assert 'id="error" role="alert" hidden' in dom  # no error shown

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
    assert len(re.findall(r'class="tile[ "]', dom)) > 20  # feature-map tiles
    arch = re.search(r'<ol id="arch">(.*?)</ol>', dom, re.S).group(1)
    with lab.use(None) as m:
        assert arch.count("<li") == len(m.rows)  # the architecture column
    assert re.search(r"overlay: class \d+", dom)  # the explanation
    assert re.search(r'<ol class="bars" id="at-pred"><li', dom)  # the attack's prediction
    assert 'id="error" role="alert" hidden' in dom  # no error shown


def test_draw_click_a_unit_and_attack(browser, lab):
    with serving(lab) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.set_default_timeout(30000)
        page.goto(url)
        page.wait_for_selector("#pred li >> nth=4")
        page.wait_for_selector("#at-pred li")
        before = page.get_attribute("#input-img", "src")
        # draw a stroke: the input (and its prediction) follows the drawing
        c = page.locator("#draw").bounding_box()
        page.mouse.move(c["x"] + 50, c["y"] + 40)
        page.mouse.down()
        for k in range(15):
            page.mouse.move(c["x"] + 50 + 6 * k, c["y"] + 40 + 8 * k)
        page.mouse.up()
        page.wait_for_function(f"document.getElementById('input-img').src !== {before!r}")
        page.wait_for_selector("#pred li >> nth=4")
        # a first-conv unit: its value worked out equals the layer's output
        page.click("#layer-0 .tile >> nth=2")
        big = page.locator("#big").bounding_box()
        page.mouse.click(big["x"] + big["width"] * 0.5, big["y"] + big["height"] * 0.4)
        eq = page.wait_for_selector("#arith .eq").inner_text()
        value, output = re.search(r"= (-?[\d.]+)\s+\(the layer's output: (-?[\d.]+)\)", eq).groups()
        assert value == output
        assert "receptive field rows" in page.inner_text("#unit-info")
        # a targeted PGD attack changes the prediction to its target
        page.wait_for_selector("#at-pred li")
        top = page.inner_text("#pred li >> nth=0").split("\n")[0]
        target = next(i for i, name in enumerate(lab_classes(lab)) if name != top)
        page.select_option("#at-method", "pgd")
        page.fill("#at-eps", "0.3")
        page.select_option("#at-target", str(target))
        name = lab_classes(lab)[target]
        page.wait_for_function(
            "name => document.querySelector('#at-pred li span').textContent === name", arg=name
        )
        assert "fooled" in page.inner_text("#at-out h3")
        page.close()


def lab_classes(lab) -> list:
    with lab.use(None) as m:
        return m.classes

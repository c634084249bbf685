"""The page in a real headless browser (Debian's chromium): it loads the model, a test image
(or the blank input of a zoo model), and renders a prediction, every layer's feature-map
tiles, an explanation and an attack's new prediction."""

from __future__ import annotations

import json
import re

import pytest

from tests.serve.browser import dump_dom, serving


def test_page_renders_a_prediction_and_feature_maps(chromium, lab):
    with serving(lab) as url:
        dom = dump_dom(chromium, url)
    pred = re.search(r'<ol id="pred" class="bars">(.*?)</ol>', dom, re.S)
    assert pred, dom[:2000]
    bars = re.findall(r'<span class="bar"><i style="width: ([\d.]+)%;?"', pred.group(1))
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


PAYLOAD = '<img src=x onerror="window.__pwned=(window.__pwned||0)+1">'


@pytest.fixture(scope="module")
def evil_lab(tmp_path_factory):
    """A checkpoint whose class names and run summary carry script."""
    import cnnlab
    from cnnlab import models
    from cnnlab.serve.lab import Lab
    from cnnlab.train.checkpoint import save_checkpoint
    from tests.serve.conftest import CONFIG

    runs = tmp_path_factory.mktemp("evil")
    (runs / "x").mkdir()
    cnnlab.manual_seed(0)
    classes = [f"{PAYLOAD}{i}" for i in range(10)]
    save_checkpoint(
        runs / "x" / "best.safetensors",
        model=models.create("lenet5"),
        config={**CONFIG, "classes": classes, "data": PAYLOAD},
    )
    (runs / "x" / "summary.json").write_text(json.dumps({"model": PAYLOAD, "data": PAYLOAD}))
    return Lab(runs)


def test_text_from_a_checkpoint_never_runs_as_script(browser, evil_lab):
    with serving(evil_lab) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.set_default_timeout(60000)
        page.goto(url)
        page.wait_for_selector("#pred li >> nth=4")
        page.wait_for_selector("#at-pred li")
        page.fill("#cm-steps", "2")
        page.click("#cm-start")
        page.wait_for_selector("#cm-out figcaption")
        assert page.evaluate("window.__pwned") is None
        assert page.locator("#pred img, #at-out li img, #cm-out figcaption img").count() == 0
        assert PAYLOAD in page.inner_text("#pred")  # shown as the text it is
        assert PAYLOAD in page.inner_text("#cm-out figcaption")
        assert PAYLOAD in page.inner_text("#model")
        page.close()


ATTACKER = """<!doctype html><html><body><form id=f method=POST action="LAB/api/class-model">
<input name=target value=1><input name=steps value=2></form><script>
fetch("LAB/api/class-model", {method: "POST", mode: "no-cors",
  headers: {"Content-Type": "text/plain"}, body: '{"target": 1, "steps": 2}'});
fetch("LAB/api/class-model", {method: "POST", mode: "no-cors",
  body: new URLSearchParams({target: "1", steps: "2"})});
fetch("LAB/api/class-model", {method: "POST", headers: {"Content-Type": "application/json"},
  body: '{"target": 1, "steps": 2}'}).catch(() => {});
setTimeout(() => document.getElementById("f").submit(), 300);
</script></body></html>"""


def test_a_page_on_another_site_cannot_start_work(browser, lab):
    import urllib.request

    with serving(lab) as url:
        lab_origin = url.rstrip("/")
        page = browser.new_page()
        page.route(
            "http://attacker.example/**",
            lambda route: route.fulfill(
                content_type="text/html", body=ATTACKER.replace("LAB", lab_origin)
            ),
        )
        page.goto("http://attacker.example/")
        page.wait_for_url(f"{lab_origin}/api/class-model", timeout=30000)  # the form went
        body = page.inner_text("body")
        assert "refused" in body or "JSON" in body, body
        page.close()
        with urllib.request.urlopen(url + "api/models") as r:
            assert r.status == 200
        try:
            urllib.request.urlopen(url + "api/jobs/job1")
            started = True
        except urllib.error.HTTPError as e:
            started = e.code != 400
        assert not started  # no job was ever started


def test_bad_requests_from_the_page_are_400_with_a_message(browser, lab):
    with serving(lab) as url:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#pred li")
        results = page.evaluate(
            """async (paths) => {
              const out = [];
              const bodies = ["[".repeat(100000) + "]".repeat(100000),
                '{"image": "x", "model": ["zoo:vgg16"]}', '{"target": 1e309, "steps": 1e309}',
                '{"image": "x", "layer": true}'];
              for (const p of paths) for (const b of bodies) {
                const r = await fetch(p, {method: "POST", body: b,
                  headers: {"Content-Type": "application/json"}});
                out.push([p, r.status, await r.text()]);
              }
              return out;
            }""",
            ["/api/predict", "/api/unit", "/api/class-model"],
        )
        page.close()
    for path, status, text in results:
        assert status == 400, (path, status, text)
        msg = json.loads(text)["error"]
        assert msg and "Traceback" not in msg and "Error:" not in msg, (path, msg)


def test_the_last_layers_map_opens_in_view_and_a_new_model_starts_clean(browser, lab):
    with serving(lab) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(60000)
        page.goto(url)
        page.wait_for_selector("#at-pred li")
        last = page.locator("#maps .layer").last.locator(".tile").first
        last.scroll_into_view_if_needed()
        last.click()
        page.wait_for_function("!document.getElementById('detail').hidden")
        page.wait_for_timeout(300)
        box = page.locator("#big").bounding_box()
        assert 0 <= box["y"] and box["y"] + box["height"] <= 900, box  # on screen
        page.fill("#cm-steps", "2")
        page.click("#cm-start")
        page.wait_for_selector("#cm-out figcaption")
        page.select_option("#model", "zoo:lenet5")
        page.wait_for_function(
            "document.getElementById('model-info').textContent.includes('LeNet')"
        )
        # the old model's class model is gone (waited for: model-info may already read LeNet
        # and #pred hold the old model's scores before the switch has finished)
        page.wait_for_selector("#cm-out figcaption", state="detached", timeout=15000)
        page.wait_for_selector("#pred li")
        assert page.locator("#cm-out *").count() == 0
        page.close()


def test_the_page_works_with_the_token_of_a_lab_open_to_the_network(browser, lab):
    import threading

    from werkzeug.serving import make_server

    from cnnlab.serve.app import create_app
    from cnnlab.serve.guard import Guard

    app = create_app(lab, Guard("0.0.0.0", "tok-123"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/"
    try:
        page = browser.new_page()
        page.set_default_timeout(60000)
        page.goto(url)
        assert "needs its token" in page.inner_text("body")
        page.goto(url + "?token=tok-123")
        assert page.url == url  # the token left the address bar
        page.wait_for_selector("#pred li >> nth=4")  # the page's requests carry the cookie
        page.close()
    finally:
        server.shutdown()
        thread.join(10)


def test_a_segmenters_mask_overlay_and_legend_for_a_drawn_and_an_uploaded_scene(
    browser, seg_lab, tmp_path
):
    import numpy as np
    from PIL import Image

    from tests.serve.conftest import PAYLOAD as SEG_PAYLOAD

    with serving(seg_lab) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.set_default_timeout(60000)
        page.goto(url)
        page.wait_for_selector("#legend li")  # the blank input's mask already has classes
        assert page.is_hidden("#pred-panel") and page.is_hidden("#attack-panel")
        assert page.is_hidden("#class-panel") and page.is_visible("#scene-panel")
        first = page.get_attribute("#scene-out figure >> nth=0 >> img", "src")
        # draw a stroke: the scene is the whole canvas, its mask follows
        c = page.locator("#draw").bounding_box()
        page.mouse.move(c["x"] + 30, c["y"] + 30)
        page.mouse.down()
        for k in range(12):
            page.mouse.move(c["x"] + 30 + 10 * k, c["y"] + 30 + 4 * k)
        page.mouse.up()
        page.wait_for_function(
            "src => document.querySelector('#scene-out figure img').src !== src", arg=first
        )
        # upload a scene: two bright items on black
        a = np.zeros((96, 96), np.uint8)
        a[10:40, 12:38], a[55:90, 50:85] = 230, 140
        Image.fromarray(a).save(tmp_path / "scene.png")
        with seg_lab.use(None) as m:  # the legend is the server's, drawn as text with swatches
            from cnnlab.serve import api, scene

            want = scene.scene(m, api.read_image(m, (tmp_path / "scene.png").read_bytes()))
        page.set_input_files("#upload", str(tmp_path / "scene.png"))
        # wait for the upload's own answer: a drawing frame still queued may land first
        _poll(
            page,
            lambda: (
                page.get_attribute("#scene-out figure >> nth=0 >> img", "src") == want["overlay"]
            ),
            "the upload's mask",
        )
        page.wait_for_selector("#legend li")
        figures = page.locator("#scene-out figure img")
        assert figures.count() == 2
        assert all(figures.nth(i).get_attribute("src").startswith("data:image/png") for i in (0, 1))
        items = page.locator("#legend li")
        assert items.count() == len(want["legend"])
        for i, c in enumerate(want["legend"]):
            assert f"{c['index']}: {c['class']}" in items.nth(i).inner_text()  # script as text
            style = items.nth(i).locator(".swatch").get_attribute("style")
            r, g, b = (int(c["colour"][k : k + 2], 16) for k in (1, 3, 5))
            assert f"rgb({r}, {g}, {b})" in style
        page.wait_for_selector("#ex-out figcaption")  # Grad-CAM of the largest class
        last = want["legend"][-1]
        page.click("#legend li >> nth=-1")  # a legend entry explains its class
        page.wait_for_function(
            "k => document.querySelector('#ex-out figure:last-child figcaption')"
            ".textContent.startsWith(`overlay: class ${k} `)",
            arg=last["index"],
        )
        assert page.is_disabled("#ex-method option[value=saliency]")
        assert SEG_PAYLOAD in page.inner_text("#legend")
        assert page.evaluate("window.__pwned") is None
        assert 'id="error" role="alert" hidden' in page.content()
        page.close()


def test_a_detector_draws_its_boxes_and_lists_them(browser):
    from cnnlab.serve.lab import Lab

    with serving(Lab(None, model="centernet_small")) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(60000)
        page.goto(url)
        for _ in range(240):  # polled from Python: the page's CSP forbids evaluated strings
            if page.inner_text("#scene-note").endswith("boxes"):
                break
            page.wait_for_timeout(250)
        n = int(page.inner_text("#scene-note").split()[0])
        assert page.locator("#legend li").count() == n and page.locator("#scene-out canvas").count()
        assert page.is_hidden("#pred-panel") and page.is_hidden("#explain-panel")
        assert 'id="error" role="alert" hidden' in page.content()
        page.close()


def _poll(page, check, what: str, tries: int = 240):
    """Wait for ``check()`` from Python (the page's CSP forbids evaluated strings)."""
    for _ in range(tries):
        if check():
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"the page never showed {what}")


def test_a_captioner_writes_a_caption_with_a_map_per_word_for_drawn_and_uploaded_scenes(
    browser, cap_lab, tmp_path
):
    import numpy as np
    from PIL import Image

    from cnnlab.serve import api, scene
    from tests.serve.conftest import PAYLOAD as CAP_PAYLOAD

    def maps():
        return page.locator("#scene-out figure img").evaluate_all("l => l.map((i) => i.src)")

    with serving(cap_lab) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.set_default_timeout(60000)
        page.goto(url)
        page.wait_for_selector("#scene-out figure img")  # the blank input's caption
        assert page.inner_text("#scene-title") == "Caption"
        for panel in ("#pred-panel", "#explain-panel", "#attack-panel", "#class-panel"):
            assert page.is_hidden(panel), panel
        with cap_lab.use(None) as m:
            layers = len(m.rows)  # the encoder's: its maps are the inside view
        _poll(page, lambda: page.locator("#maps .layer").count() == layers, "the encoder's maps")
        # draw a stroke: the scene is the whole canvas, its caption and maps follow
        first = maps()
        c = page.locator("#draw").bounding_box()
        page.mouse.move(c["x"] + 40, c["y"] + 60)
        page.mouse.down()
        for k in range(12):
            page.mouse.move(c["x"] + 40 + 12 * k, c["y"] + 60 + 5 * k)
        page.mouse.up()
        _poll(page, lambda: maps() and maps() != first, "new maps for the drawing")
        # upload a scene: the page shows the server's caption, a map per word (and <end>'s)
        a = np.zeros((96, 96), np.uint8)
        a[10:40, 12:38], a[55:90, 50:85] = 230, 140
        Image.fromarray(a).save(tmp_path / "scene.png")
        with cap_lab.use(None) as m:
            want = scene.scene(m, api.read_image(m, (tmp_path / "scene.png").read_bytes()))
        words = " ".join(want["words"]) or "(empty)"
        page.set_input_files("#upload", str(tmp_path / "scene.png"))
        # wait for the upload's own answer: a drawing frame still queued may land first
        # (regression: the test compared the words as soon as the maps changed at all)
        _poll(
            page,
            lambda: page.inner_text("#scene-out p.words") == words and maps() == want["attention"],
            "the upload's caption and maps",
        )
        assert len(want["attention"]) >= 1
        captions = page.locator("#scene-out figcaption").all_inner_texts()
        assert captions == [*want["words"], "<end>"][: len(want["attention"])]
        assert want["words"] and CAP_PAYLOAD in page.inner_text("#scene-out")  # script as text
        assert page.locator("#scene-out p img, #scene-out figcaption img").count() == 0
        assert page.evaluate("window.__pwned") is None
        assert 'id="error" role="alert" hidden' in page.content()
        # a captioner without attention: the caption alone
        page.select_option("#model", "zoo:show_tell")
        _poll(page, lambda: "no attention maps" in page.inner_text("#scene-note"), "show_tell")
        assert page.locator("#scene-out figure").count() == 0
        assert page.locator("#scene-out p.words").count() == 1
        assert 'id="error" role="alert" hidden' in page.content()
        page.close()

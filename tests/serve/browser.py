"""Debian's chromium, headless, on a lab served from a thread on 127.0.0.1: the page's DOM
after it has settled, or a screenshot of it. Used by test_browser.py and, for the README's
picture, as ``python -m tests.serve.browser OUT.png [--runs DIR | --checkpoint CKPT]``."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from contextlib import contextmanager

# no first-run UI, no background traffic to the (closed) network
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


@contextmanager
def serving(lab):
    """The lab's app on a free port of 127.0.0.1 in a thread; yields its URL."""
    from werkzeug.serving import make_server

    from cnnlab.serve.app import create_app

    server = make_server("127.0.0.1", 0, create_app(lab), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        thread.join(10)


def _run(binary: str, url: str, extra: list, budget_ms: int, timeout: float) -> str:
    with tempfile.TemporaryDirectory(prefix="cnnlab-chromium-") as profile:
        cmd = [binary, *FLAGS, f"--user-data-dir={profile}"]
        cmd += [f"--virtual-time-budget={budget_ms}", *extra, url]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited with {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def dump_dom(binary: str, url: str, budget_ms: int = 20000, timeout: float = 120) -> str:
    """The page's DOM once its requests have settled (virtual time waits for the network)."""
    return _run(binary, url, ["--dump-dom"], budget_ms, timeout)


def screenshot(binary: str, url: str, path, size=(1280, 1500), budget_ms: int = 20000) -> None:
    """A PNG of the page at ``size`` (width, height) pixels."""
    _run(
        binary, url, [f"--window-size={size[0]},{size[1]}", f"--screenshot={path}"], budget_ms, 120
    )


def screenshot_with_unit(binary: str, url: str, path, size=(1280, 1500)) -> None:
    """A PNG of the page after a click on a unit of the first conv layer's third map (its
    value, receptive field and arithmetic shown), driven by Playwright."""
    from playwright.sync_api import sync_playwright

    args = [f for f in FLAGS if f not in ("--headless", "--hide-scrollbars")]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=binary, args=args)
        page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        page.set_default_timeout(60000)
        page.goto(url)
        page.wait_for_selector("#at-pred li")
        page.click("#layer-0 .tile >> nth=2")
        big = page.locator("#big").bounding_box()
        page.mouse.click(big["x"] + big["width"] * 0.45, big["y"] + big["height"] * 0.55)
        page.wait_for_selector("#arith .eq")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(path), full_page=True)
        browser.close()


def screenshot_scene(binary: str, url: str, path, size=(1280, 1500), index: int = 0) -> None:
    """A PNG of the page on a segmenter (or another scene model) showing test scene
    ``index``: its view (a mask and legend, boxes, a caption with its attention maps), and
    for a segmenter Grad-CAM of its largest class."""
    from playwright.sync_api import sync_playwright

    args = [f for f in FLAGS if f not in ("--headless", "--hide-scrollbars")]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=binary, args=args)
        page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        page.set_default_timeout(60000)
        page.goto(url)
        page.wait_for_selector("#scene-out > *")
        if index:
            page.fill("#test-index", str(index))
            page.click("#test-load")
            page.wait_for_function(f"document.getElementById('test-index').value === '{index}'")
        page.wait_for_timeout(500)
        if page.is_visible("#explain-panel"):
            page.wait_for_selector("#ex-out figcaption")
        page.screenshot(path=str(path), full_page=False)
        browser.close()


def _shrink(path, width: int) -> None:
    """Scale the PNG to ``width`` pixels and 256 colours, to keep it small in the repository."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        if im.width > width:
            im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
        im.quantize(256, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)


def main(argv=None) -> int:
    import argparse
    import shutil

    from cnnlab.serve.lab import Lab

    p = argparse.ArgumentParser(description="screenshot of cnnlab serve's page")
    p.add_argument("out")
    p.add_argument("--runs", default="runs")
    p.add_argument("--checkpoint")
    p.add_argument("--size", default="1280x1500")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    p.add_argument("--width", type=int, default=1000, help="width of the saved PNG")
    p.add_argument("--scene", type=int, help="a scene model: show this test scene instead")
    args = p.parse_args(argv)
    with serving(Lab(args.runs, args.checkpoint)) as url:
        w, h = (int(v) for v in args.size.split("x"))
        try:
            import playwright  # noqa: F401
        except ImportError:
            screenshot(binary, url, args.out, (w, h))
        else:
            if args.scene is not None:
                screenshot_scene(binary, url, args.out, (w, h), args.scene)
            else:
                screenshot_with_unit(binary, url, args.out, (w, h))
    _shrink(args.out, args.width)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

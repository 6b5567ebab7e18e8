"""Open every page of the built book in Debian's Chromium, headless, via Playwright.

For each page: MathJax has typeset the math and no raw TeX delimiters are left
in the visible text; every image has loaded; the console shows no error; and no
request goes to any host but 127.0.0.1. On pages with widgets, every control of
every widget is moved and the picture it shows must change (compared by the
SHA-256 of the image bytes, since each switch makes a new blob: URL anyway).

Screenshots land in test-artifacts/screens/ for a human to look at.
"""
import urllib.parse

import pytest

from bookpages import ROOT, toc_pages

PAGES = toc_pages()
SCREENS = ROOT / "test-artifacts" / "screens"

# Visible text of the page, without code blocks (code may legitimately contain
# a backslash or a dollar) and without script/style bodies.
VISIBLE_TEXT_JS = """() => {
  const clone = document.querySelector('main') ? document.querySelector('main').cloneNode(true) : document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, mjx-assistive-mml').forEach(e => e.remove());
  return clone.innerText;
}"""

IMAGES_JS = """async () => {
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })));
  return imgs.map(i => ({src: i.currentSrc.slice(0, 120), ok: i.complete && i.naturalWidth > 0}));
}"""

# Digest of the image(s) a widget currently shows (only the selected stack child is in the DOM).
WIDGET_DIGEST_JS = """async (root) => {
  const parts = [];
  for (const img of root.querySelectorAll('img.widget-image')) {
    const bytes = await (await fetch(img.src)).arrayBuffer();
    const hash = await crypto.subtle.digest('SHA-256', bytes);
    parts.push(Array.from(new Uint8Array(hash)).map(b => b.toString(16).padStart(2, '0')).join(''));
  }
  return parts.join(',');
}"""


def _open(browser, server, page_path):
    """Load one page and return (page, problems) with listeners already attached."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

    def check_host(request):
        url = urllib.parse.urlparse(request.url)
        if url.scheme in ("blob", "data"):
            return
        if url.hostname != "127.0.0.1":
            problems.append(f"request to another host: {request.url}")

    page.on("request", check_host)
    page.goto(f"{server}/{page_path}.html", wait_until="load")
    return page, problems


def _wait_for_mathjax(page):
    has_math = page.evaluate("document.querySelectorAll('.math, div.math, span.math').length") > 0
    if has_math:
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
        page.evaluate("MathJax.startup.promise")
    return has_math


def _wait_for_widgets(page):
    views = page.evaluate("document.querySelectorAll('script[type=\"application/vnd.jupyter.widget-view+json\"]').length")
    if views:
        page.wait_for_function(
            "document.querySelectorAll('.jupyter-widgets.widget-image').length > 0", timeout=20000)
    return views


@pytest.mark.parametrize("page_path", PAGES)
def test_page_in_chromium(browser, server, page_path):
    page, problems = _open(browser, server, page_path)
    try:
        has_math = _wait_for_mathjax(page)
        _wait_for_widgets(page)
        page.wait_for_load_state("networkidle")

        if has_math:
            assert page.evaluate("document.querySelectorAll('mjx-container').length") > 0, "math was not typeset"
        text = page.evaluate(VISIBLE_TEXT_JS)
        for raw in ("$$", "\\(", "\\["):
            assert raw not in text, f"raw TeX {raw!r} left in the visible text near: " \
                                    f"{text[max(0, text.find(raw) - 60): text.find(raw) + 60]!r}"

        images = page.evaluate(IMAGES_JS)
        broken = [i["src"] for i in images if not i["ok"]]
        assert broken == [], f"images that did not load: {broken}"

        SCREENS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENS / (page_path.replace("/", "__") + ".png")), full_page=True)
        assert problems == [], "\n".join(problems)
    finally:
        page.close()


def _widget_roots(page):
    """The outer box of every precomputed widget: a VBox holding a Stack of images."""
    roots = page.query_selector_all(".cell_output .widget-subarea > .widget-vbox")
    return [r for r in roots if r.query_selector("img.widget-image")]


def _move(control):
    """Move one control to another value, the way a reader would."""
    handle = control.query_selector(".noUi-handle")
    if handle is not None:  # SelectionSlider / slider
        now = float(handle.get_attribute("aria-valuenow"))
        high = float(handle.get_attribute("aria-valuemax"))
        handle.focus()
        handle.press("ArrowLeft" if now >= high else "ArrowRight")
        return
    buttons = control.query_selector_all("button:not(.mod-active)")  # ToggleButtons
    assert buttons, "a toggle control with nothing else to choose"
    buttons[0].click()


def _controls(root):
    return root.query_selector_all(":scope > .widget-slider, :scope > .widget-toggle-buttons")


PAGES_WITH_WIDGETS = [p for p in PAGES if p.startswith("notebooks/")]


@pytest.mark.parametrize("page_path", PAGES_WITH_WIDGETS)
def test_widgets_respond_without_a_kernel(browser, server, page_path):
    page, problems = _open(browser, server, page_path)
    try:
        if not _wait_for_widgets(page):
            pytest.fail(f"{page_path} has no widget; every chapter has one")
        roots = _widget_roots(page)
        assert roots, "widget views are on the page but none rendered as a precomputed widget"
        for w, root in enumerate(roots):
            controls = _controls(root)
            assert controls, f"widget {w} has no control"
            for c, control in enumerate(controls):
                before = page.evaluate(WIDGET_DIGEST_JS, root)
                _move(control)
                page.wait_for_function(f"""async (root) => ({WIDGET_DIGEST_JS})(root).then(d => d !== {before!r})""",
                                       arg=root, timeout=5000)
                after = page.evaluate(WIDGET_DIGEST_JS, root)
                assert after and after != before, f"widget {w}, control {c}: the picture did not change"
        assert problems == [], "\n".join(problems)
    finally:
        page.close()

"""Open every page of the built book in Debian's Chromium, headless, via Playwright.

For each page, at a 1366 x 900 desktop: MathJax has typeset the math and no
raw TeX delimiters are left in the visible text; every image has loaded; the
console shows no error; no request goes to any host but 127.0.0.1; no figure
is shown below 75% of its own width; and no display equation is wider than its
column. At a 390 x 844 phone: the page is no wider than the screen. On pages
with widgets, every control of every widget is moved and the picture it shows
must change (compared by the SHA-256 of the image bytes, since each switch
makes a new blob: URL anyway).

Screenshots of both widths land in test-artifacts/screens/ for a human to look
at. scripts/measure_book.py prints the same measurements for every page.
"""
import urllib.parse

import pytest

from bookpages import ROOT, toc_pages
from pagemetrics import DESKTOP, PHONE, SHRUNK, measure, shrunk_figures, wait_for_widgets, wait_until_typeset

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


def _open(browser, server, page_path, viewport=DESKTOP):
    """Load one page and return (page, problems) with listeners already attached."""
    page = browser.new_page(viewport=viewport)
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


def _screenshot(page, page_path, width):
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{page_path.replace('/', '__')}-{width}.png"), full_page=True)


@pytest.mark.parametrize("page_path", PAGES)
def test_page_in_chromium(browser, server, page_path):
    page, problems = _open(browser, server, page_path)
    try:
        has_math, _ = wait_until_typeset(page)

        if has_math:
            assert page.evaluate("document.querySelectorAll('mjx-container').length") > 0, "math was not typeset"
        text = page.evaluate(VISIBLE_TEXT_JS)
        for raw in ("$$", "\\(", "\\["):
            assert raw not in text, f"raw TeX {raw!r} left in the visible text near: " \
                                    f"{text[max(0, text.find(raw) - 60): text.find(raw) + 60]!r}"

        images = page.evaluate(IMAGES_JS)
        broken = [i["src"] for i in images if not i["ok"]]
        assert broken == [], f"images that did not load: {broken}"

        _screenshot(page, page_path, DESKTOP["width"])
        assert problems == [], "\n".join(problems)
    finally:
        page.close()


@pytest.mark.parametrize("page_path", PAGES)
def test_figures_and_equations_fit_a_desktop(browser, server, page_path):
    """At 1366 px no figure is shrunk below 75% of its width, every shrunk output figure opens at full
    size when clicked, and no equation is wider than its column."""
    page, _ = _open(browser, server, page_path)
    try:
        wait_until_typeset(page)
        metrics = measure(page)
        assert metrics["figures"] or not page.evaluate("document.querySelectorAll('main .cell_output img').length"), \
            "the page has output images but none was measured: the figure selector is broken"
        shrunk = [f"{f['natural']} px wide shown at {f['shown']} px ({f['ratio']:.1%}) in '{f['section']}' ({f['src']})"
                  for f in shrunk_figures(metrics)]
        wide = [f"{e['content']} px in a {e['column']} px column in '{e['section']}': {e['text']}"
                for e in metrics["equations"]]
        no_zoom = [f"{f['natural']} px shown at {f['shown']} px in '{f['section']}' ({f['src']})"
                   for f in metrics["figures"] if not f["widget"] and f["shown"] < f["natural"] - 2 and not f["zoom"]]
        problems = ([f"figure shown below {SHRUNK:.0%} of its width: {s}" for s in shrunk]
                    + [f"equation wider than its column: {w}" for w in wide]
                    + [f"shrunk figure that a click does not open at full size: {z}" for z in no_zoom])
        assert problems == [], "\n".join(problems)
    finally:
        page.close()


@pytest.mark.parametrize("page_path", PAGES)
def test_page_fits_a_phone(browser, server, page_path):
    """At 390 px the page does not scroll sideways; the message names what sticks out."""
    page, problems = _open(browser, server, page_path, viewport=PHONE)
    try:
        wait_until_typeset(page)
        metrics = measure(page)
        _screenshot(page, page_path, PHONE["width"])
        offenders = "; ".join(f"{o['element']} reaches {o['right']} px in '{o['section']}'"
                              for o in metrics["offenders"])
        assert metrics["scroll_width"] <= PHONE["width"], (
            f"the page is {metrics['scroll_width']} px wide at {PHONE['width']} px: {offenders or 'no single element found'}")
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
        if not wait_for_widgets(page):
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


FIRST_SCREEN_JS = """() => {
  const onScreen = el => { const r = el.getBoundingClientRect();
                           return r.width > 0 && r.top >= 0 && r.bottom <= window.innerHeight + 1; };
  const pictures = Array.from(document.querySelectorAll('main img')).filter(onScreen);
  const start = Array.from(document.querySelectorAll('main a')).find(a => a.innerText.trim().startsWith('Start: Chapter 1'));
  return {pictures: pictures.map(i => ({src: i.getAttribute('src'), alt: i.alt, shown: i.getBoundingClientRect().width,
                                        natural: i.naturalWidth})),
          start: start ? {href: start.getAttribute('href'), onScreen: onScreen(start)} : null};
}"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=lambda v: f"{v['width']}px")
def test_preface_first_screen_has_the_picture_and_the_start_link(browser, server, viewport):
    page, problems = _open(browser, server, PAGES[0], viewport=viewport)
    try:
        wait_until_typeset(page)
        SCREENS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENS / f"preface-first-screen-{viewport['width']}.png"))
        seen = page.evaluate(FIRST_SCREEN_JS)
        assert len(seen["pictures"]) == 1, f"the first screen shows {len(seen['pictures'])} pictures: {seen['pictures']}"
        picture = seen["pictures"][0]
        assert len(picture["alt"]) > 40, f"the overview picture needs alt text that says what it shows: {picture['alt']!r}"
        assert seen["start"], "the preface has no 'Start: Chapter 1' link"
        assert seen["start"]["onScreen"], "the 'Start: Chapter 1' link is below the first screen"
        assert seen["start"]["href"].endswith("notebooks/01_linear_projection.html"), seen["start"]
        assert problems == [], "\n".join(problems)
    finally:
        page.close()


SEARCH_JS = """() => Array.from(document.querySelectorAll('.search-button-field, button.search-button')).filter(el => {
  const r = el.getBoundingClientRect(), st = getComputedStyle(el);
  return r.width > 0 && r.height > 0 && r.right > 0 && r.left < window.innerWidth && st.visibility !== 'hidden';
}).map(el => el.className)"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=lambda v: f"{v['width']}px")
def test_one_search_box(browser, server, viewport):
    page, _ = _open(browser, server, PAGES_WITH_WIDGETS[0], viewport=viewport)
    try:
        wait_until_typeset(page)
        shown = page.evaluate(SEARCH_JS)
        assert len(shown) == 1, f"{len(shown)} search boxes or buttons on screen: {shown}"
    finally:
        page.close()

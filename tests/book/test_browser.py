"""Open every page of the built book in Debian's Chromium, headless, via Playwright.

For each page, at a 1366 x 900 desktop: MathJax has typeset the math and no
raw TeX delimiters are left in the visible text; every image has loaded; the
console shows no error; no request goes to any host but 127.0.0.1; no figure
is shown below 75% of its own width; and no display equation is wider than its
column. At a 390 x 844 phone: the page is no wider than the screen. On pages
with widgets, every control of every widget is moved and the picture it shows
must change (compared by the SHA-256 of the image bytes, since each switch
makes a new blob: URL anyway).

Every check runs on both editions (English at the root, Chinese under zh/). The
language switch is visible at both widths, reachable with the Tab key, and opens
the same page of the other edition; the Chinese search lists chapters for 注意力;
and the Chinese pages are drawn with a CJK font, not empty boxes.

Screenshots of both widths land in test-artifacts/screens/ for a human to look
at. scripts/measure_book.py prints the same measurements for every page.
"""
import urllib.parse

import pytest

from bookpages import EDITIONS, ROOT, edition_pages
from pagemetrics import DESKTOP, PHONE, SHRUNK, measure, shrunk_figures, wait_for_widgets, wait_until_typeset

PAGES = edition_pages()       # both editions: 'book/preface', ..., 'zh/book/preface', ...
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
    # A request the browser cancels itself (net::ERR_ABORTED, e.g. the favicon when a search navigates
    # away) is not a failure of the site; a missing file still shows up as an HTTP 404 just below.
    page.on("requestfailed", lambda r: None if r.failure == "net::ERR_ABORTED"
            else problems.append(f"request failed: {r.url} ({r.failure})"))
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


PAGES_WITH_WIDGETS = [p for p in PAGES if "notebooks/" in p]


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


FIRST_SCREEN_JS = """(startText) => {
  const onScreen = el => { const r = el.getBoundingClientRect();
                           return r.width > 0 && r.top >= 0 && r.bottom <= window.innerHeight + 1; };
  const pictures = Array.from(document.querySelectorAll('main img')).filter(onScreen);
  const start = Array.from(document.querySelectorAll('main a')).find(a => a.innerText.trim().startsWith(startText));
  return {pictures: pictures.map(i => ({src: i.getAttribute('src'), alt: i.alt, shown: i.getBoundingClientRect().width,
                                        natural: i.naturalWidth})),
          start: start ? {href: start.getAttribute('href'), onScreen: onScreen(start)} : null};
}"""


START = {"en": "Start: Chapter 1", "zh": "开始：第 1 章"}
VIEWPORTS = [DESKTOP, PHONE]


def _viewport_id(v):
    return f"{v['width']}px"


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("viewport", VIEWPORTS, ids=_viewport_id)
def test_preface_first_screen_has_the_picture_and_the_start_link(browser, server, viewport, edition):
    page, problems = _open(browser, server, f"{EDITIONS[edition]}book/preface", viewport=viewport)
    try:
        wait_until_typeset(page)
        SCREENS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENS / f"{EDITIONS[edition].replace('/', '__')}preface-first-screen-{viewport['width']}.png"))
        seen = page.evaluate(FIRST_SCREEN_JS, START[edition])
        assert len(seen["pictures"]) == 1, f"the first screen shows {len(seen['pictures'])} pictures: {seen['pictures']}"
        picture = seen["pictures"][0]
        assert len(picture["alt"]) > 40, f"the overview picture needs alt text that says what it shows: {picture['alt']!r}"
        assert seen["start"], f"the preface has no '{START[edition]}' link"
        assert seen["start"]["onScreen"], f"the '{START[edition]}' link is below the first screen"
        assert seen["start"]["href"].endswith("notebooks/01_linear_projection.html"), seen["start"]
        assert problems == [], "\n".join(problems)
    finally:
        page.close()


SEARCH_JS = """() => Array.from(document.querySelectorAll('.search-button-field, button.search-button')).filter(el => {
  const r = el.getBoundingClientRect(), st = getComputedStyle(el);
  return r.width > 0 && r.height > 0 && r.right > 0 && r.left < window.innerWidth && st.visibility !== 'hidden';
}).map(el => el.className)"""


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("viewport", VIEWPORTS, ids=_viewport_id)
def test_one_search_box(browser, server, viewport, edition):
    page, _ = _open(browser, server, f"{EDITIONS[edition]}notebooks/01_linear_projection", viewport=viewport)
    try:
        wait_until_typeset(page)
        shown = page.evaluate(SEARCH_JS)
        assert len(shown) == 1, f"{len(shown)} search boxes or buttons on screen: {shown}"
    finally:
        page.close()


# ---- the two editions ------------------------------------------------------------------

SWITCH_JS = """() => {
  const a = document.querySelector('a.qkv-language-switch');
  if (!a) return null;
  const r = a.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return {text: a.innerText.trim(), width: r.width, height: r.height,
          inside: r.left >= 0 && r.top >= 0 && r.right <= window.innerWidth && r.bottom <= window.innerHeight,
          uncovered: !!hit && (hit === a || a.contains(hit)),
          visible: getComputedStyle(a).visibility !== 'hidden'};
}"""
SWITCH_TEXT = {"en": "中文", "zh": "English"}


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("viewport", VIEWPORTS, ids=_viewport_id)
@pytest.mark.parametrize("page_path", ["book/preface", "notebooks/01_linear_projection"])
def test_language_switch_is_visible_and_works_from_the_keyboard(browser, server, page_path, viewport, edition):
    """The switch shows on the first screen, Tab reaches it, and Enter opens the same page in the other edition."""
    site_path = EDITIONS[edition] + page_path
    page, problems = _open(browser, server, site_path, viewport=viewport)
    try:
        wait_until_typeset(page)
        seen = page.evaluate(SWITCH_JS)
        assert seen, f"{site_path} has no language switch"
        assert seen["text"] == SWITCH_TEXT[edition], seen
        assert seen["visible"] and seen["inside"] and seen["uncovered"] and seen["width"] >= 24, \
            f"the switch is not plainly visible at {viewport['width']} px: {seen}"
        for _ in range(80):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement && document.activeElement.matches('a.qkv-language-switch')"):
                break
        else:
            pytest.fail(f"80 presses of Tab never reach the language switch on {site_path}")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        other = next(e for e in EDITIONS if e != edition)
        assert page.url.endswith(f"/{EDITIONS[other]}{page_path}.html"), page.url
        assert page.evaluate("document.querySelector('a.qkv-language-switch').innerText.trim()") == SWITCH_TEXT[other]
        assert problems == [], "\n".join(problems)
    finally:
        page.close()


SEARCH_RESULTS_JS = """() => Array.from(document.querySelectorAll('#search-results ul.search li a'))
  .map(a => a.getAttribute('href'))"""


def test_zh_search_lists_chapters(browser, server):
    page, problems = _open(browser, server, "zh/search")
    try:
        page.goto(f"{server}/zh/search.html?q=" + urllib.parse.quote("注意力"), wait_until="load")
        page.wait_for_function("document.querySelectorAll('#search-results ul.search li').length > 0", timeout=20000)
        page.wait_for_load_state("networkidle")
        hrefs = page.evaluate(SEARCH_RESULTS_JS)
        assert any("book/glossary.html" in h for h in hrefs), f"searching 注意力 does not list the glossary: {hrefs}"
        assert any("notebooks/" in h for h in hrefs), f"searching 注意力 lists no chapter: {hrefs}"
        SCREENS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENS / "zh__search-attention-1366.png"))
        assert problems == [], "\n".join(problems)
    finally:
        page.close()


# Draw two different Chinese characters in the page's own font: without a CJK font both come out
# as the same empty box ("tofu"), so the screenshots would show boxes instead of Chinese.
TOFU_JS = """() => {
  const font = getComputedStyle(document.querySelector('main p')).font;
  const draw = ch => { const c = document.createElement('canvas'); c.width = 64; c.height = 64;
                       const g = c.getContext('2d'); g.font = font.replace(/\\d+(\\.\\d+)?px/, '40px');
                       g.fillText(ch, 4, 48); return c.toDataURL(); };
  return {font: font, same: draw('注') === draw('意'), blank: draw('注') === draw(' ')};
}"""


def test_zh_pages_use_a_cjk_font(browser, server):
    page, problems = _open(browser, server, "zh/book/preface")
    try:
        wait_until_typeset(page)
        seen = page.evaluate(TOFU_JS)
        assert not seen["same"] and not seen["blank"], \
            f"Chinese characters render as identical boxes in {seen['font']!r}: install a CJK font (fonts-noto-cjk)"
    finally:
        page.close()

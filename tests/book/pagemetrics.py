"""What a reader sees on one page of the built book, measured in Chromium.

Shared by the browser test (tests/book/test_browser.py) and by
scripts/measure_book.py, which prints the same numbers for every page.

The numbers:
- the page height, and the share of it taken by code inputs a reader sees
  (a ``.cell_input`` hidden behind "Show code cell source" has no height);
- where the first widget starts, as a fraction of the page height;
- every figure's displayed width over its natural width, and whether a click
  opens it at full size (web/qkv.js);
- every display equation whose content is wider than its column;
- the page's scroll width, and the elements that stick out past the viewport.
"""
import contextlib
import functools
import http.server
import threading

# Figures are the images of cell outputs and of the prose (not icons or logos).
FIGURE_SELECTOR = "main .cell_output img, main figure img, main img.qkv-figure"
SHRUNK = 0.75        # a figure shown below this fraction of its width is too small
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}

METRICS_JS = r"""() => {
  const H = document.documentElement.scrollHeight;
  const top = el => el.getBoundingClientRect().top + window.scrollY;
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const clip = (text, n) => Array.from(text).slice(0, n).join('');   // whole characters, not UTF-16 halves
  const describe = el => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (el.classList.length) s += '.' + Array.from(el.classList).slice(0, 3).join('.');
    const text = (el.innerText || el.getAttribute('alt') || '').replace(/\s+/g, ' ').trim();
    return text ? `${s} "${clip(text, 70)}"` : s;
  };
  const heading = el => {   // the nearest section title above an element, to say where it is
    const sec = el.closest('section');
    const h = sec && sec.querySelector('h1, h2, h3, h4');
    return h ? clip(h.innerText.replace(/[#¶]/g, '').trim(), 60) : '';
  };

  let code = 0;
  for (const el of document.querySelectorAll('.cell_input')) {
    if (shown(el)) code += el.getBoundingClientRect().height;
  }

  const widgets = Array.from(document.querySelectorAll('.cell_output .widget-subarea > .widget-vbox'))
    .filter(shown).map(el => top(el) / H);

  const figures = Array.from(document.querySelectorAll(FIGURE_SELECTOR)).filter(
      img => shown(img) && img.naturalWidth > 0).map(img => {
    const w = img.getBoundingClientRect().width;
    return {src: (img.getAttribute('src') || '').slice(-60), widget: img.classList.contains('widget-image'),
            shown: Math.round(w), natural: img.naturalWidth, ratio: w / img.naturalWidth,
            zoom: !!img.closest('a.qkv-zoom'), section: heading(img)};
  });

  const equations = [];
  for (const c of document.querySelectorAll('mjx-container[display="true"]')) {
    if (!shown(c)) continue;
    const math = c.querySelector('mjx-math');
    const column = c.clientWidth;
    const content = Math.max(c.scrollWidth, math ? math.getBoundingClientRect().width : 0);
    if (content > column + 1) {
      equations.push({content: Math.round(content), column: column, section: heading(c),
                      text: clip((c.innerText || '').replace(/\s+/g, ' ').trim(), 60)});
    }
  }

  // Elements that reach past the viewport without a scrolling box around them.
  const vw = document.documentElement.clientWidth;
  const clips = el => {
    for (let p = el.parentElement; p && p !== document.body && p !== document.documentElement; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o !== 'visible') return true;
      if (getComputedStyle(p).position === 'fixed') return true;
    }
    return false;
  };
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= vw + 0.5) continue;
    const st = getComputedStyle(el);
    if (st.position === 'fixed' || st.visibility === 'hidden' || clips(el)) continue;
    wide.push(el);
  }
  // Report the innermost ones: an element none of whose children also sticks out.
  const innermost = wide.filter(el => !wide.some(o => o !== el && el.contains(o)));
  const offenders = innermost.slice(0, 5).map(el => ({
    element: describe(el), right: Math.round(el.getBoundingClientRect().right), section: heading(el)}));

  return {height: H, code: code, code_share: code / H, widgets: widgets, figures: figures,
          equations: equations, scroll_width: document.documentElement.scrollWidth,
          viewport: vw, offenders: offenders};
}""".replace("FIGURE_SELECTOR", repr(FIGURE_SELECTOR))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory):
    """Serve ``directory`` on 127.0.0.1 at a free port; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def wait_for_mathjax(page):
    """Wait until MathJax has typeset the page's maths; return whether it has any."""
    has_math = page.evaluate("document.querySelectorAll('.math, div.math, span.math').length") > 0
    if has_math:
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
        page.evaluate("MathJax.startup.promise")
    return has_math


def wait_for_widgets(page):
    """Wait until the widget manager has drawn the widgets; return how many widget views the page holds."""
    views = page.evaluate(
        "document.querySelectorAll('script[type=\"application/vnd.jupyter.widget-view+json\"]').length")
    if views:
        page.wait_for_function("document.querySelectorAll('.jupyter-widgets.widget-image').length > 0",
                               timeout=20000)
    return views


def wait_until_typeset(page):
    """Wait for the maths, the widgets and the network to settle; return (has_math, widget views)."""
    has_math, views = wait_for_mathjax(page), wait_for_widgets(page)
    page.wait_for_load_state("networkidle")
    return has_math, views


def measure(page):
    """The METRICS_JS numbers for the page as it is now."""
    return page.evaluate(METRICS_JS)


def shrunk_figures(metrics):
    return [f for f in metrics["figures"] if f["ratio"] < SHRUNK]

"""Static checks of the built HTML: every page exists, none shows a traceback,
and none loads anything from another host."""
import html.parser
import re
import urllib.parse

import pytest

from bookpages import toc_pages

PAGES = toc_pages()
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


class _Resources(html.parser.HTMLParser):
    """Collect the URLs a browser would fetch: scripts, styles, images, frames, media."""

    FETCHED = {("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src"),
               ("source", "src"), ("video", "src"), ("audio", "src"), ("embed", "src"), ("object", "data")}

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and not ({"stylesheet", "preload", "icon", "modulepreload"} & set((attrs.get("rel") or "").split())):
            return  # <link rel="next"> etc. are navigation, not fetched
        for t, attr in self.FETCHED:
            if tag == t and attrs.get(attr):
                self.urls.append(attrs[attr])


def remote(url):
    parsed = urllib.parse.urlparse(url)
    return bool(parsed.netloc) and parsed.hostname not in LOCAL_HOSTS


def test_toc_is_not_empty():
    assert len(PAGES) >= 3, PAGES
    assert PAGES[0] == "book/preface"


@pytest.mark.parametrize("page", PAGES)
def test_page_exists(built_html, page):
    assert (built_html / f"{page}.html").is_file(), f"{page}.html was not built"


@pytest.mark.parametrize("page", PAGES)
def test_page_shows_no_traceback(built_html, page):
    text = (built_html / f"{page}.html").read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" not in text
    assert not re.search(r'class="[^"]*\btraceback\b', text), "an error output is rendered on the page"


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_nothing_from_other_hosts(built_html, page):
    parser = _Resources()
    parser.feed((built_html / f"{page}.html").read_text(encoding="utf-8"))
    assert parser.urls, "found no scripts or styles at all: the parser is broken"
    outside = [u for u in parser.urls if remote(u)]
    assert outside == [], f"{page} loads from other hosts: {outside}"


def test_static_css_and_js_name_no_other_host(built_html):
    """Fonts and imports in the theme's CSS, and URLs our own JS fetches, stay local."""
    offenders = []
    for path in (built_html / "_static").rglob("*.css"):
        for url in re.findall(r"""url\(\s*['"]?([^'")]+)""", path.read_text(encoding="utf-8", errors="replace")):
            if remote(url):
                offenders.append(f"{path.relative_to(built_html)}: {url}")
        for url in re.findall(r"""@import\s+(?:url\()?['"]?([^'");]+)""", path.read_text(encoding="utf-8", errors="replace")):
            if remote(url):
                offenders.append(f"{path.relative_to(built_html)}: @import {url}")
    assert offenders == []


def test_offline_assets_are_served(built_html):
    vendor = built_html / "_static" / "vendor"
    for rel in ["mathjax/tex-mml-chtml.js", "require.js", "html-manager/embed-amd.js", "qkv-widgets-config.js"]:
        assert (vendor / rel).is_file(), f"missing offline asset {rel}"
    # MathJax 3, as the Sphinx 7 pages expect (npm's latest, 4.x, is not).
    source = (vendor / "mathjax/tex-mml-chtml.js").read_text(encoding="utf-8", errors="replace")
    assert re.search(r'VERSION\s*=\s*"3\.\d+\.\d+"', source), "the served MathJax is not version 3"


def test_index_redirects_to_preface(built_html):
    assert "book/preface.html" in (built_html / "index.html").read_text(encoding="utf-8")

"""Static checks of the built HTML, in both editions (English at the root, Chinese under zh/):
every page exists, none shows a traceback, none loads anything from another host, the course
kit is in the site and every link to it works, and the header offers no .ipynb download and a
repository button exactly when repository.url is set. tests/book/test_editions.py checks what
is particular to the two editions."""
import html.parser
import re
import sys
import urllib.parse
import zipfile

import pytest
import yaml

from bookpages import EDITIONS, ROOT, edition_pages, toc_pages

PAGES = edition_pages()          # every TOC page of both editions: 'book/preface', 'zh/book/preface', ...
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
    assert len(toc_pages()) >= 3, toc_pages()
    assert toc_pages()[0] == "book/preface"
    assert len(PAGES) == len(EDITIONS) * len(toc_pages())


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
    for path in built_html.glob("**/_static/**/*.css"):
        for url in re.findall(r"""url\(\s*['"]?([^'")]+)""", path.read_text(encoding="utf-8", errors="replace")):
            if remote(url):
                offenders.append(f"{path.relative_to(built_html)}: {url}")
        for url in re.findall(r"""@import\s+(?:url\()?['"]?([^'");]+)""", path.read_text(encoding="utf-8", errors="replace")):
            if remote(url):
                offenders.append(f"{path.relative_to(built_html)}: @import {url}")
    assert offenders == []


@pytest.mark.parametrize("edition", EDITIONS)
def test_offline_assets_are_served(built_html, edition):
    vendor = built_html / EDITIONS[edition] / "_static" / "vendor"
    for rel in ["mathjax/tex-mml-chtml.js", "require.js", "html-manager/embed-amd.js", "qkv-widgets-config.js"]:
        assert (vendor / rel).is_file(), f"missing offline asset {rel}"
    # MathJax 3, as the Sphinx 7 pages expect (npm's latest, 4.x, is not).
    source = (vendor / "mathjax/tex-mml-chtml.js").read_text(encoding="utf-8", errors="replace")
    assert re.search(r'VERSION\s*=\s*"3\.\d+\.\d+"', source), "the served MathJax is not version 3"


@pytest.mark.parametrize("edition", EDITIONS)
def test_index_redirects_to_preface(built_html, edition):
    assert "book/preface.html" in (built_html / EDITIONS[edition] / "index.html").read_text(encoding="utf-8")


# ---- the course kit, the header buttons ---------------------------------------

KIT = "qkv-course-kit.zip"


def _kit_links(built_html):
    """(page, href) for every link to the course kit on every page."""
    links = []
    for page in PAGES:
        text = (built_html / f"{page}.html").read_text(encoding="utf-8")
        links += [(page, href) for href in re.findall(r'href="([^"#]*' + re.escape(KIT) + ')"', text)]
    return links


@pytest.mark.parametrize("edition", EDITIONS)
def test_site_offers_the_course_kit(built_html, edition):
    """Each edition's pages link their own copy (Sphinx copies downloads per build)."""
    kits = list((built_html / EDITIONS[edition]).glob(f"_downloads/*/{KIT}"))
    assert len(kits) == 1, f"expected one {KIT} in _build/html/{EDITIONS[edition]}_downloads, found {kits}"
    with zipfile.ZipFile(kits[0]) as zf:
        names = set(zf.namelist())
        assert zf.testzip() is None, "the kit's zip is damaged"
    notebooks = {f"qkv-course-kit/{p}.ipynb" for p in toc_pages() if p.startswith("notebooks/")}
    missing = notebooks - names
    assert not missing, f"the kit lacks {sorted(missing)}"
    assert {"qkv-course-kit/README.md", "qkv-course-kit/src/helpers/__init__.py"} <= names


def test_every_link_to_the_kit_works(built_html):
    links = _kit_links(built_html)
    for prefix in EDITIONS.values():
        assert any(page == f"{prefix}book/preface" for page, _ in links), f"{prefix}book/preface does not link the kit"
    for page, href in links:
        target = (built_html / page).parent / urllib.parse.unquote(href)
        assert target.resolve().is_file(), f"{page} links the kit as {href}, which is not in the site"


@pytest.mark.parametrize("page", PAGES)
def test_no_notebook_download_button(built_html, page):
    """A chapter's .ipynb alone cannot run (it imports helpers): the book offers the kit instead."""
    text = (built_html / f"{page}.html").read_text(encoding="utf-8")
    assert "download-notebook-button" not in text and "download-source-button" not in text


@pytest.mark.parametrize("page", PAGES)
def test_no_repository_button_while_no_url_is_set(built_html, page):
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    url = (config.get("repository") or {}).get("url") or ""
    text = (built_html / f"{page}.html").read_text(encoding="utf-8")
    assert ("source-repository-button" in text) == bool(url.strip()), \
        f"repository.url is {url!r}, but the repository button is {'missing' if url else 'shown'}"


@pytest.mark.parametrize("url, shown", [("", False), ("  ", False), (None, False),
                                        ("https://github.com/OWNER/qkv", True)])
def test_repository_button_follows_the_url(url, shown):
    """web/qkv_book.py turns the theme's repository button on exactly when repository.url is set."""
    import types

    sys.path.insert(0, str(ROOT / "web"))
    try:
        import qkv_book
    finally:
        sys.path.remove(str(ROOT / "web"))
    config = types.SimpleNamespace(html_theme_options={"repository_url": url})
    qkv_book._repository_button(None, config)
    assert config.html_theme_options["use_repository_button"] is shown

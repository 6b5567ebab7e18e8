"""The two editions of the built site: English at the root, Chinese under zh/ (make build-book).

- Every page links the same page of the other edition ("中文" / "English"), from any folder depth.
- Pages say their language (<html lang>), show no raw MyST (a translation that broke a role or a
  bold shows "{term}`" or "**" as text), and every glossary link lands on an entry.
- The Chinese build took every notebook from the English build's execution cache (executed none).
- The Chinese search index finds 注意力 and 查询 (jieba splits the Chinese text).
- test_zh_page_is_mostly_chinese FAILS until each chapter is translated: that is issue 13's
  "every page has a zh twin whose prose is mostly Chinese", not a bug.
"""
import functools
import json
import re
import urllib.parse

import pytest
from bs4 import BeautifulSoup

from bookpages import EDITIONS, HTML, ROOT, edition_of, edition_pages, toc_pages

PAGES = edition_pages()
ZH_PAGES = edition_pages(["zh"])
SWITCH = {"en": ("中文", "zh-CN"), "zh": ("English", "en")}   # what an edition's pages link to
LANG = {"en": "en", "zh": "zh-CN"}
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")
MOSTLY_CHINESE = 0.6     # translated pages measure 0.72 (the glossary) to 0.91; untranslated ones 0.0


SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S)


@functools.lru_cache(maxsize=None)
def page_facts(path):
    """What the tests read from one built page, parsed once (without its scripts: the widget state
    alone is megabytes): its lang, language switches, glossary links, element ids and prose."""
    page = BeautifulSoup(SCRIPT.sub("", path.read_text(encoding="utf-8")), "html.parser")
    facts = {
        "lang": page.html.get("lang"),
        "switches": [(a.get_text(strip=True), a.get("hreflang"), a["href"]) for a in page.select("a.qkv-language-switch")],
        "glossary_links": [(a["href"], a.get_text()) for a in page.select('a[href*="glossary.html#term-"]')],
        "ids": {el.get("id") for el in page.select("[id]")},
    }
    main = page.select_one("main article") or page.select_one("main")
    for el in main.select("pre, code, script, style, .math, .cell_output, .cell_input, .headerlink, "
                          "mjx-container, .toctree-wrapper, .highlight"):
        el.decompose()
    facts["prose"] = main.get_text(" ")   # the visible text of the article, without code, maths or outputs
    return facts


def facts(built_html, site_path):
    return page_facts((built_html / f"{site_path}.html").resolve())


def other_edition(site_path):
    here = edition_of(site_path)
    page = site_path[len(EDITIONS[here]):]
    there = next(e for e in EDITIONS if e != here)
    return there, EDITIONS[there] + page


@pytest.mark.parametrize("site_path", PAGES + [f"{p}search" for p in EDITIONS.values()])
def test_language_switch_links_the_same_page(built_html, site_path):
    links = facts(built_html, site_path)["switches"]
    assert len(links) == 1, f"{site_path}: {len(links)} language switches"
    there, target = other_edition(site_path)
    text, hreflang, href = links[0]
    assert (text, hreflang) == SWITCH[edition_of(site_path)], links[0]
    resolved = ((built_html / site_path).parent / urllib.parse.unquote(href)).resolve()
    assert resolved == (built_html / f"{target}.html").resolve(), f"{site_path} links {href}, not {target}.html"
    assert resolved.is_file(), f"{target}.html does not exist"


@pytest.mark.parametrize("site_path", PAGES)
def test_page_says_its_language(built_html, site_path):
    assert facts(built_html, site_path)["lang"] == LANG[edition_of(site_path)]


RAW = ["{term}`", "{doc}`", "{ref}`", "**", "](", "$$"]


@pytest.mark.parametrize("site_path", PAGES)
def test_page_shows_no_raw_markup(built_html, site_path):
    """A translation that breaks MyST shows its markup as text (a role, a bold, a link)."""
    text = facts(built_html, site_path)["prose"]
    found = [(raw, text[max(0, text.find(raw) - 40): text.find(raw) + 40]) for raw in RAW if raw in text]
    assert not found, f"{site_path} shows raw markup: {found}"


@pytest.mark.parametrize("site_path", PAGES)
def test_glossary_links_land_on_an_entry(built_html, site_path):
    links = facts(built_html, site_path)["glossary_links"]
    for href, text in links:
        path, _, anchor = href.partition("#")
        assert anchor in page_facts(((built_html / site_path).parent / path).resolve())["ids"], \
            f"{site_path}: the link to {href} ({text!r}) has no target"


def test_zh_build_executed_no_notebook():
    """The Chinese build took every notebook's outputs and widgets from the English build's cache."""
    report = json.loads((ROOT / "_build" / "zh" / "execution.json").read_text(encoding="utf-8"))
    notebooks = [p for p in toc_pages() if p.startswith("notebooks/")]
    assert report["notebooks_in_cache"] >= len(notebooks), report
    assert report["executed"] == [], f"the Chinese build executed notebooks again: {report['executed']}"


def _search_index(built_html, edition):
    text = (built_html / EDITIONS[edition] / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1: text.rindex(")")])


def _documents_with(index, word):
    """Pages whose text or titles hold the word, as the search page merges them."""
    found = set()
    for table in ("terms", "titleterms"):
        hits = index[table].get(word, [])
        found |= {hits} if isinstance(hits, int) else set(hits)
    return {index["docnames"][i] for i in found}


@pytest.mark.parametrize("word", ["注意力", "查询", "多头注意力"])
def test_zh_search_index_finds_chinese_words(built_html, word):
    docs = _documents_with(_search_index(built_html, "zh"), word)
    assert "book/glossary" in docs, f"searching {word} does not find the glossary: {sorted(docs)}"
    if word != "多头注意力":    # a term of terms.yml, kept whole by the search dictionary
        assert any(d.startswith("notebooks/") for d in docs), f"searching {word} finds no chapter: {sorted(docs)}"


@pytest.mark.parametrize("site_path", ZH_PAGES)
def test_zh_page_is_mostly_chinese(built_html, site_path):
    """Most letters of the page's prose are Chinese. Fails for each chapter not yet translated."""
    text = facts(built_html, site_path)["prose"]
    chinese, latin = len(CJK.findall(text)), len(LATIN.findall(text))
    share = chinese / max(1, chinese + latin)
    assert share >= MOSTLY_CHINESE, (
        f"{site_path}: only {share:.0%} of the prose's letters are Chinese ({chinese} Chinese, {latin} Latin): "
        f"translate locales/zh_CN/LC_MESSAGES/{site_path[len('zh/'):]}.po")

"""Shared facts about the built book for tests/book: where it is, which pages the TOC lists, and the
two editions (English at the root, Chinese under zh/, built by `make build-book`)."""
import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def toc_pages():
    """Every document in _toc.yml, in reading order, as paths like 'notebooks/01_linear_projection'."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                pages.append(str(node["file"]).rsplit(".", 1)[0] if str(node["file"]).endswith((".md", ".ipynb")) else node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return pages


# Edition -> its folder inside the built site (scripts/build_zh.py, web/qkv_book.py).
EDITIONS = {"en": "", "zh": "zh/"}


def edition_pages(editions=EDITIONS):
    """Every TOC page of every edition, as site paths: 'book/preface', ..., 'zh/book/preface', ..."""
    return [EDITIONS[e] + page for e in editions for page in toc_pages()]


def edition_of(site_path):
    """'zh' for 'zh/book/preface', 'en' for 'book/preface'."""
    return next((e for e, prefix in EDITIONS.items() if prefix and site_path.startswith(prefix)), "en")

"""The Chinese edition: extract the messages to translate, and build the zh site from the catalogs.

Usage (the Makefile runs both; see `make translations` and `make build-book`):
  python scripts/build_zh.py gettext   # _build/gettext/**/*.pot, one per document; no notebook is executed
  python scripts/build_zh.py html      # the Chinese site in _build/html/zh/, after the English build

Both make the same Sphinx call as `jupyter-book build` (jupyter_book.sphinx.build_sphinx) on the same
_config.yml; the Chinese build adds only the settings in locales/zh_CN/config.yml (the language and the
few strings that live in the configuration, such as the footer) and the search dictionary.

The Chinese build executes nothing: _config.yml runs the notebooks in myst-nb's "cache" mode, so the
English build stores every executed notebook in _build/.jupyter_cache, and the Chinese build reads the
outputs and the widget state from there (Sphinx translates the parsed pages, never the code cells, so
the notebooks match their cache entries). It writes _build/zh/execution.json, which says how many
notebooks the cache served and which, if any, it had to execute; tests/book checks it.

Sphinx writes next to its output folder (doctrees, myst-nb's jupyter_execute/), so the Chinese site is
built in _build/zh/html and then moved to _build/html/zh.
"""
import argparse
import json
import pathlib
import re
import shutil
import sys
import time

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
CACHE = BUILD / ".jupyter_cache"
LOCALE = ROOT / "locales" / "zh_CN"
ZH_CONFIG = LOCALE / "config.yml"
TERMS = LOCALE / "terms.yml"
WORK = BUILD / "zh"                 # the Chinese build's own doctrees, jupyter_execute/ and report
SITE = BUILD / "html"               # the English site; the Chinese one goes into SITE / "zh"
CJK_WORD = re.compile(r"^[\u4e00-\u9fff]{2,}$")


def _build(builder, outdir, doctreedir, overrides, strict):
    from jupyter_book.sphinx import build_sphinx

    confoverrides = {"external_toc_path": (ROOT / "_toc.yml").as_posix(), "latex_individualpages": False}
    if strict:
        confoverrides["nitpicky"] = True
    confoverrides.update(overrides)
    result = build_sphinx(ROOT, outdir, noconfig=True, path_config=str(ROOT / "_config.yml"),
                          confoverrides=confoverrides, doctreedir=doctreedir, builder=builder,
                          warningiserror=strict, keep_going=strict)
    if isinstance(result, Exception) or result:
        sys.exit(f"the {builder} build failed ({result!r}); see the messages above")


def gettext():
    """Extract every translatable message into _build/gettext, one .pot per document."""
    out, doctrees = BUILD / "gettext", BUILD / ".doctrees-gettext"
    for folder in (out, doctrees):      # from scratch: a reused environment would skip reading pages
        shutil.rmtree(folder, ignore_errors=True)
    # The stored outputs are not translated; silence the two warnings that only concern HTML.
    overrides = {"nb_execution_mode": "off", "html_static_path": [], "suppress_warnings": ["mystnb.mime_priority"],
                 "project": "QKV"}
    _build("gettext", out, doctrees, overrides, strict=False)
    print(f"messages extracted to {out.relative_to(ROOT)}; `make translations` updates the catalogs")


def search_words(path):
    """A jieba user dictionary: the Chinese terms of terms.yml, so that a search for 多头注意力 finds it."""
    terms = yaml.safe_load(TERMS.read_text(encoding="utf-8"))["terms"]
    words = set()
    for entry in terms.values():
        for word in [entry["zh"], *entry.get("variants", [])]:
            if CJK_WORD.match(word):
                words.add(word)
    path.write_text("".join(f"{w} 100\n" for w in sorted(words)), encoding="utf-8")
    return path


def cache_records():
    from jupyter_cache import get_cache

    return {r.uri: r.created.timestamp() for r in get_cache(str(CACHE)).list_cache_records()}


def html():
    """Build the Chinese site from the catalogs and the English build's execution cache."""
    if not (SITE / "index.html").is_file() or not CACHE.is_dir():
        sys.exit("build the English edition first (make build-book does both): "
                 f"{SITE.relative_to(ROOT)} or {CACHE.relative_to(ROOT)} is missing")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    overrides = yaml.safe_load(ZH_CONFIG.read_text(encoding="utf-8"))
    overrides.update({
        "nb_execution_cache_path": str(CACHE),
        "html_search_options": {"dict": str(search_words(WORK / "search-words.txt"))},
    })
    before = cache_records()
    start = time.time()
    _build("html", WORK / "html", WORK / ".doctrees", overrides, strict=True)
    seconds = time.time() - start
    after = cache_records()
    executed = sorted(pathlib.Path(uri).relative_to(ROOT).as_posix()
                      for uri, created in after.items() if before.get(uri) != created)
    report = {"seconds": round(seconds, 1), "notebooks_in_cache": len(before), "executed": executed}
    (WORK / "execution.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    target = SITE / "zh"
    shutil.rmtree(target, ignore_errors=True)
    shutil.move(str(WORK / "html"), str(target))
    print(f"the Chinese edition is in {target.relative_to(ROOT)} ({seconds:.0f} s; "
          f"{len(before)} notebooks from the cache, executed again: {executed or 'none'})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["gettext", "html"])
    args = parser.parse_args()
    {"gettext": gettext, "html": html}[args.what]()


if __name__ == "__main__":
    main()

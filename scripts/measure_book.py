"""Measure what a reader sees on every page of the built book, at a desktop and a phone width.

Usage: python scripts/measure_book.py [--label before] [--html _build/html] [PAGE ...]
       python scripts/measure_book.py --show test-artifacts/measure-before.json

Opens each page of _toc.yml (or the PAGEs given, e.g. notebooks/06_multi_head_attention)
in Debian's Chromium at 1366x900 and at 390x844 and prints, per page:
  height       page height in px (desktop / phone)
  code         share of the page height taken by code inputs the reader sees
  widget       where the first widget starts, as a fraction of the page height
  figures      figures on the page, and how many are shown below 75% of their width
  min fig      the smallest displayed/natural width ratio of a figure at 1366 px
  wide eq      display equations wider than their column (desktop / phone)
  phone width  the page's scroll width at 390 px (more than 390 means sideways scrolling)
and writes everything, figure by figure, to test-artifacts/measure-LABEL.json.
The same numbers are asserted by tests/book/test_browser.py.
"""
import argparse
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "book"))

from bookpages import CHROMIUM, CHROMIUM_ARGS, HTML, toc_pages  # noqa: E402
from pagemetrics import DESKTOP, PHONE, measure, serve, shrunk_figures, wait_until_typeset  # noqa: E402


def measure_pages(browser, base, pages):
    results = {}
    for path in pages:
        results[path] = {}
        for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page = browser.new_page(viewport=viewport)
            try:
                page.goto(f"{base}/{path}.html", wait_until="load")
                wait_until_typeset(page)
                results[path][name] = measure(page)
            finally:
                page.close()
        print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return results


def table(results):
    head = (f"{'page':<34}{'height (px)':>15}{'code':>11}{'widget':>8}{'figures':>9}"
            f"{'<75%':>6}{'min fig':>9}{'wide eq':>9}{'phone width':>13}")
    lines = [head, "-" * len(head)]
    for path, r in results.items():
        d, p = r["desktop"], r["phone"]
        widget = f"{d['widgets'][0]:.2f}" if d["widgets"] else "-"
        ratios = [f["ratio"] for f in d["figures"]]
        lines.append(
            f"{path.split('/')[-1][:33]:<34}{d['height']:>7}/{p['height']:<7}"
            f"{d['code_share']:>5.0%}/{p['code_share']:<5.0%}{widget:>8}{len(d['figures']):>9}"
            f"{len(shrunk_figures(d)):>6}{(min(ratios) if ratios else 1):>9.3f}"
            f"{len(d['equations']):>5}/{len(p['equations']):<3}{p['scroll_width']:>13}")
    chapters = [r for path, r in results.items() if path.startswith("notebooks/")]
    if chapters:
        shares = [r["desktop"]["code_share"] for r in chapters]
        heights = [r["desktop"]["height"] for r in chapters]
        lines.append("-" * len(head))
        lines.append(
            f"chapters: height {min(heights)}-{max(heights)} px at 1366, code {min(shares):.0%}-{max(shares):.0%}, "
            f"figures below 75%: {sum(len(shrunk_figures(r['desktop'])) for r in chapters)} on "
            f"{sum(1 for r in chapters if shrunk_figures(r['desktop']))} pages, "
            f"pages wider than 390 px: {sum(1 for r in chapters if r['phone']['scroll_width'] > 390)}")
    return "\n".join(lines)


def _text(s):
    """A string safe to print: a lone UTF-16 half (from cut maths symbols) becomes U+FFFD."""
    return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def details(results):
    lines = []
    for path, r in results.items():
        for f in shrunk_figures(r["desktop"]):
            lines.append(f"{path}: figure {f['natural']} px shown at {f['shown']} px ({f['ratio']:.1%})"
                         f" in '{f['section']}'")
        for name in ("desktop", "phone"):
            for e in r[name]["equations"]:
                lines.append(f"{path} ({name}): equation {e['content']} px in a {e['column']} px column"
                             f" in '{e['section']}': {e['text']}")
        if r["phone"]["scroll_width"] > PHONE["width"]:
            for o in r["phone"]["offenders"]:
                lines.append(f"{path} (phone): {o['element']} reaches {o['right']} px in '{o['section']}'")
    return _text("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pages", nargs="*", help="pages as in _toc.yml (default: all)")
    parser.add_argument("--label", default="now", help="name of the JSON file: measure-LABEL.json")
    parser.add_argument("--html", default=str(HTML), help="the built book (default: _build/html)")
    parser.add_argument("--show", metavar="JSON", help="print a measurement saved earlier; measure nothing")
    args = parser.parse_args()
    if args.show:
        results = json.loads(pathlib.Path(args.show).read_text(encoding="utf-8"))
        print(table(results), details(results), sep="\n\n")
        return
    html = pathlib.Path(args.html)
    if not (html / "index.html").exists():
        sys.exit(f"{html}/index.html is missing: build the book first (make book)")
    from playwright.sync_api import sync_playwright

    with serve(html) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            results = measure_pages(browser, base, args.pages or toc_pages())
        finally:
            browser.close()
    out = ROOT / "test-artifacts" / f"measure-{args.label}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(table(results))
    print()
    print(details(results))
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

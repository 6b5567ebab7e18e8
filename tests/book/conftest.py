"""Fixtures for the tests of the built book (run by `make test` after the build).

These tests read _build/html, so they fail, rather than skip, when the book has
not been built: a missing build is a broken pipeline, not a reason to pass.
"""
import pathlib

import pytest

from bookpages import CHROMIUM, CHROMIUM_ARGS, HTML, ROOT
from pagemetrics import serve


@pytest.fixture(scope="session")
def built_html():
    if not (HTML / "index.html").exists():
        pytest.fail(f"{HTML.relative_to(ROOT)}/index.html is missing: build the book first (make build-book)")
    return HTML


@pytest.fixture(scope="session")
def server(built_html):
    """Serve the built book on 127.0.0.1 at a free port; yield its base URL."""
    with serve(built_html) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    if not pathlib.Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()

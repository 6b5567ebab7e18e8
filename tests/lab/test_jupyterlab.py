"""One notebook in a live JupyterLab, driven by Debian's Chromium through Playwright (make lab-test).

What a learner does first, checked end to end: open chapter 2 in JupyterLab, Run All, read.

* Run All finishes, and no cell ends in an error.
* The markdown is rendered by jupyterlab-myst: glossary terms are links, maths is typeset, and no
  raw MyST (``{term}``, ``{doc}``, directive fences, ``$$``) is left in the text.
* Every solution is a closed ``<details>``, and its code is not visible.
* The widget the notebook builds responds: moving its slider, then clicking a toggle button,
  changes the picture it shows (compared by the SHA-256 of the image bytes).
* Nothing is requested from any host but 127.0.0.1.

The server runs from the course environment (this Python) on 127.0.0.1, at a free port with a
random token, on a temporary copy of the notebook, with its own Jupyter config, data and settings
folders. It and its kernel are shut down at the end, also when a check fails. A screenshot and
the server log land in test-artifacts/lab/.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "02_dot_products_softmax.ipynb"   # terms, maths, four solutions, a widget with a slider and buttons
ARTIFACTS = ROOT / "test-artifacts" / "lab"
CHROMIUM = "/usr/bin/chromium"
TIMINGS = {}   # seconds per phase, written to test-artifacts/lab/timings.json
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

# JupyterLab settings for the test's own settings folder. Without windowing, every cell is in the
# page (JupyterLab otherwise renders only the cells near the viewport); no news or update checks.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}

# Digest of the picture a widget shows now (JupyterLab keeps only the selected Stack child in the page).
DIGEST_JS = """async (root) => {
  const parts = [];
  for (const img of root.querySelectorAll('img.widget-image')) {
    const bytes = await (await fetch(img.src)).arrayBuffer();
    const hash = await crypto.subtle.digest('SHA-256', bytes);
    parts.push(Array.from(new Uint8Array(hash)).map(b => b.toString(16).padStart(2, '0')).join(''));
  }
  return parts.join(',');
}"""

# Every code cell's outputs and execution count, from the notebook model JupyterLab holds.
OUTPUTS_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.filter(c => c.model.type === 'code').map(c => ({
    count: c.model.executionCount,
    outputs: c.model.outputs.toJSON().map(o => ({type: o.output_type, name: o.ename || o.name || '',
                                                   text: (o.evalue || '').slice(0, 200)})),
  }));
}"""

# The rendered text of the markdown cells, without code (code may hold backticks and dollars).
MARKDOWN_TEXT_JS = """() => Array.from(document.querySelectorAll('.jp-MarkdownCell .myst')).map(m => {
  const clone = m.cloneNode(true);
  clone.querySelectorAll('pre, code, .katex').forEach(e => e.remove());
  return clone.innerText;
})"""

SOLUTIONS_JS = """() => Array.from(document.querySelectorAll('.jp-MarkdownCell .myst details'))
  .filter(d => d.querySelector('summary') && d.querySelector('summary').innerText.trim() === 'Solution')
  .map(d => ({open: d.open, bodyVisible: Array.from(d.querySelectorAll('pre, p'))
                                             .some(e => e.checkVisibility && e.checkVisibility())}))"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(url, token, path, method="GET"):
    request = urllib.request.Request(f"{url}{path}", method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read()
    return json.loads(body) if body else None


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """A JupyterLab server on a copy of NOTEBOOK; yields (url, token). Stopped at the end, whatever happens."""
    home = tmp_path_factory.mktemp("jupyterlab")
    work = home / "work"
    work.mkdir()
    shutil.copyfile(ROOT / "notebooks" / NOTEBOOK, work / NOTEBOOK)
    env = dict(os.environ)
    for variable, folder in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                             ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                             ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"), ("IPYTHONDIR", "ipython")]:
        env[variable] = str(home / folder)
        (home / folder).mkdir()
    for name, values in SETTINGS.items():
        path = home / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    token, port = secrets.token_hex(16), free_port()
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={work}", "--LabApp.expose_app_in_browser=True",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / "server.log", "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        deadline = started + 60
        while True:   # the server answers its status API once it listens
            try:
                api(url, token, "/api/status")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start; see {ARTIFACTS / 'server.log'}")
                time.sleep(0.2)
        TIMINGS["server start"] = round(time.monotonic() - started, 1)
        yield url, token
    finally:
        try:   # shut the kernels down through the API, so that none outlives the server
            for kernel in api(url, token, "/api/kernels") or []:
                api(url, token, f"/api/kernels/{kernel['id']}", method="DELETE")
        except OSError:
            pass
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        (ARTIFACTS / "timings.json").write_text(json.dumps(TIMINGS, indent=1))


@pytest.fixture(scope="module")
def page(jupyterlab):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    url, token = jupyterlab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.other_hosts = []

        def check_host(request):
            address = urllib.parse.urlparse(request.url)
            if address.scheme not in ("blob", "data") and address.hostname != "127.0.0.1":
                page.other_hosts.append(request.url)

        page.on("request", check_host)
        page.goto(f"{url}/lab/tree/{NOTEBOOK}?token={token}")
        try:
            yield page
        finally:
            page.screenshot(path=str(ARTIFACTS / "chapter02.png"))
            browser.close()


@pytest.fixture(scope="module")
def ran(page):
    """Run All in the notebook, once its kernel is idle; returns true if every cell ran without error."""
    opened = time.monotonic()
    page.wait_for_function("""() => {
        const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
        const kernel = panel && panel.sessionContext && panel.sessionContext.session
                       && panel.sessionContext.session.kernel;
        return kernel && kernel.status === 'idle';
    }""", timeout=120_000)
    start = time.monotonic()
    TIMINGS["page and kernel ready"] = round(start - opened, 1)
    # The command's promise settles when the last cell has run, with false if a cell raised.
    page.evaluate("""() => { window.qkvRunAll = null;
        window.jupyterapp.commands.execute('notebook:run-all-cells').then(
            done => { window.qkvRunAll = done; }, error => { window.qkvRunAll = String(error); }); }""")
    page.wait_for_function("() => window.qkvRunAll !== null", timeout=240_000)
    seconds = time.monotonic() - start
    TIMINGS["run all"] = round(seconds, 1)
    return page.evaluate("() => window.qkvRunAll")


def test_run_all_gives_no_error(page, ran):
    assert ran is True, f"Run All stopped before the last cell ({ran}): a cell raised"
    cells = page.evaluate(OUTPUTS_JS)
    assert len(cells) > 10, f"only {len(cells)} code cells: is {NOTEBOOK} open?"
    errors = [(i, o) for i, c in enumerate(cells) for o in c["outputs"] if o["type"] == "error"]
    assert errors == [], f"error outputs after Run All: {errors}"
    assert all(isinstance(c["count"], int) for c in cells), "a code cell did not run"


def test_markdown_is_rendered_by_myst(page, ran):
    markdown_cells = sum(c["cell_type"] == "markdown" for c in
                         json.loads((ROOT / "notebooks" / NOTEBOOK).read_text(encoding="utf-8"))["cells"])
    page.wait_for_function(f"document.querySelectorAll('.jp-MarkdownCell .myst').length >= {markdown_cells}",
                           timeout=30_000)
    text = "\n".join(page.evaluate(MARKDOWN_TEXT_JS))
    for raw in ("{term}", "{doc}", "{ref}", "{literalinclude}", "```", ":::", "$$", "Unknown Directive"):
        assert raw not in text, f"raw MyST {raw!r} in JupyterLab, near: {text[max(0, text.find(raw) - 80):][:160]!r}"
    assert page.locator(".jp-MarkdownCell .myst a.hover-link").count() > 5, "glossary terms are not rendered as links"
    assert page.locator(".jp-MarkdownCell .myst .katex").count() > 10, "the maths is not typeset by KaTeX"
    assert page.locator(".jp-MarkdownCell .katex-error").count() == 0, "KaTeX could not typeset some maths"


def test_solutions_are_collapsed(page, ran):
    stored = sum(c["cell_type"] == "markdown" and "".join(c["source"]).startswith(":::{dropdown} Solution")
                 for c in json.loads((ROOT / "notebooks" / NOTEBOOK).read_text(encoding="utf-8"))["cells"])
    solutions = page.evaluate(SOLUTIONS_JS)
    assert stored >= 1 and len(solutions) == stored, f"{stored} solution cells, {len(solutions)} rendered as <details>"
    assert [s for s in solutions if s["open"] or s["bodyVisible"]] == [], "a solution is open"


def test_widget_responds(page, ran):
    root = page.locator(".jp-OutputArea-output .widget-vbox").filter(has=page.locator("img.widget-image")).first
    root.wait_for(state="visible", timeout=30_000)
    moves = [("slider", root.locator(".widget-slider .noUi-handle").first),
             ("toggle button", root.locator(".widget-toggle-buttons button:not(.mod-active)").first)]
    for what, control in moves:
        before = page.evaluate(DIGEST_JS, root.element_handle())
        assert before, "the widget shows no picture"
        if what == "slider":
            control.focus()
            control.press("ArrowRight")
        else:
            control.click()
        page.wait_for_function(f"async (root) => ({DIGEST_JS})(root).then(d => d !== '' && d !== {before!r})",
                               arg=root.element_handle(), timeout=10_000)


def test_no_request_leaves_the_machine(page, ran):
    assert page.other_hosts == [], f"requests to other hosts: {page.other_hosts[:5]}"

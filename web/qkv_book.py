"""A small Sphinx extension for the QKV book (listed in _config.yml).

1. The repository button. Jupyter Book 1 refuses ``html.use_repository_button``
   without a URL, and the theme fails on an empty one, so _config.yml sets
   only ``repository: url:``. Left empty, the book has no repository button;
   set to e.g. https://github.com/OWNER/qkv, the button appears.
2. The course kit. The preface and the chapters link ``../qkv-course-kit.zip``;
   the kit is made afresh (scripts/make_kit.py) before Sphinx reads the pages,
   and Sphinx copies it into the site as a download.
"""
import importlib.util
import pathlib

from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
ROOT = pathlib.Path(__file__).resolve().parent.parent


def _repository_button(app, config):
    options = config.html_theme_options
    options["use_repository_button"] = bool(str(options.get("repository_url") or "").strip())


def _make_kit(app):
    spec = importlib.util.spec_from_file_location("make_kit", ROOT / "scripts" / "make_kit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.make_kit(pathlib.Path(app.srcdir) / f"{module.NAME}.zip")
    LOGGER.info(f"made the course kit {out.name} ({out.stat().st_size / 2**20:.1f} MiB)")


def setup(app):
    app.connect("config-inited", _repository_button)
    app.connect("builder-inited", _make_kit)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

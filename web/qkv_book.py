"""A small Sphinx extension for the QKV book (listed in _config.yml).

1. The repository button. Jupyter Book 1 refuses ``html.use_repository_button``
   without a URL, and the theme fails on an empty one, so _config.yml sets
   only ``repository: url:``. Left empty, the book has no repository button;
   set to e.g. https://github.com/OWNER/qkv, the button appears.
2. The course kit. The preface and the chapters link ``../qkv-course-kit.zip``;
   the kit is made afresh (scripts/make_kit.py) before Sphinx reads the pages,
   and Sphinx copies it into the site as a download.
3. The two editions. English is built at the site's root, Chinese under zh/
   (scripts/build_zh.py) with the same relative paths. Every page gets a link
   to the same page in the other edition (web/templates/qkv-language-switch.html),
   and the build's language is a tag, so ``{only} zh_CN`` holds text that only
   the Chinese edition shows (it is still extracted and translated like the rest).
"""
import importlib.util
import os
import pathlib

from docutils import nodes
from sphinx import addnodes
from sphinx.locale import init as init_locale
from sphinx.transforms import SphinxTransform
from sphinx.util import logging
from sphinx.util.i18n import docname_to_domain

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


# language -> (folder of the edition inside the site, its name in its own language, HTML lang)
EDITIONS = {"en": ("", "English", "en"), "zh_CN": ("zh/", "中文", "zh-CN")}
SWITCH_TITLE = {"en": "Read this page in English", "zh_CN": "阅读本页的中文版"}


def _language(config):
    return config.language or "en"


def _language_tag(app, config):
    app.tags.add(_language(config))


def language_switch_href(pagename, here, there):
    """The relative link from page ``pagename`` of edition ``here`` to the same page of edition ``there``."""
    up = "../" * (pagename.count("/") + EDITIONS[here][0].count("/"))
    return f"{up}{EDITIONS[there][0]}{pagename}.html"


def _language_switch(app, pagename, templatename, context, doctree):
    here = _language(app.config)
    if here not in EDITIONS:
        return
    there = next(lang for lang in EDITIONS if lang != here)
    context["qkv_language_switch"] = {
        "href": language_switch_href(pagename, here, there),
        "label": EDITIONS[there][1],
        "lang": EDITIONS[there][2],
        "title": SWITCH_TITLE[there],
    }


class TranslateTocCaptions(SphinxTransform):
    """Translate the table of contents' captions ("Chapters", "Appendix").

    sphinx-external-toc adds the toctrees to the root page (a transform of priority 100) after
    Sphinx has translated that page (priority 20), so their captions would stay English. The
    captions are messages of the root page's catalog; look them up there, as Sphinx does.
    """

    default_priority = 101

    def apply(self, **kwargs):
        if _language(self.config) == "en":
            return
        domain = docname_to_domain(self.env.docname, self.config.gettext_compact)
        dirs = [os.path.join(self.env.srcdir, d) for d in self.config.locale_dirs]
        catalog, has_catalog = init_locale(dirs, self.config.language, domain)
        if not has_catalog:
            return
        for node in self.document.findall(addnodes.toctree):
            if node.get("caption"):
                node["caption"] = catalog.gettext(node.get("rawcaption") or node["caption"])


class KeepDisplayMathUntranslated(SphinxTransform):
    """Display maths is not prose: leave it out of the catalogs (Sphinx would extract each
    ``$$`` block as a message for the translators to copy) and never translate it."""

    default_priority = 5   # before Sphinx's translation (20) and before the catalogs are extracted

    def apply(self, **kwargs):
        for node in self.document.findall(nodes.math_block):
            node["translatable"] = False


def setup(app):
    app.add_transform(KeepDisplayMathUntranslated)
    app.add_transform(TranslateTocCaptions)
    app.connect("config-inited", _repository_button)
    app.connect("config-inited", _language_tag)
    app.connect("html-page-context", _language_switch)
    app.connect("builder-inited", _make_kit)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

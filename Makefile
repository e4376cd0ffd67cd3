# Set-up, the two Quick start jobs and the checks. Everything is installed by these targets on a fresh
# machine.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DEMO_OUT ?= runs/demo
LINT_PATHS = verifier probes tests bench scripts

.PHONY: demo test test-fast lint setup system-deps clean

$(BIN)/verifier: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/verifier

# Debian packages the full test suite needs (CJK fonts for PDF, Chromium, poppler-utils).
system-deps:
	bash scripts/system-deps.sh

demo: setup
	bash scripts/demo.sh $(DEMO_OUT)

# ruff (pyflakes, bugbear, pyupgrade, simplify, import order, …) and mypy (pyproject.toml says how strict)
lint: setup
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/mypy

# the tests that need neither Chromium nor the slow real-tool runs (scancode, Locust, real runs)
test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

# everything: the lint, then every test
test: setup system-deps lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) runs build *.egg-info .mypy_cache .ruff_cache

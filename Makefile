# Set-up and the two Quick start jobs. Everything is installed by these targets on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DEMO_OUT ?= runs/demo

.PHONY: demo test setup system-deps clean

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

test: setup system-deps
	$(BIN)/ruff check verifier probes tests bench scripts
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) runs build *.egg-info

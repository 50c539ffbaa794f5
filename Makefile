# Two entry points for a fresh machine (see README): `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint venv clean

$(BIN)/consentguard: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/consentguard

# The main job on embedded defaults: the whole system offline (registry, local Telegram server, the bot).
run: venv
	$(BIN)/consentguard demo

# The suite, then again with the wall clock a year ahead: nothing may depend on today's date.
# The consent form's browser tests drive Debian's Chromium: installed first when missing (needs root).
# Two test processes (pytest-xdist), one module each at a time: many tests wait on sockets and subprocesses,
# so two keep both cores busy (on 2 cores: about 200 s a pass instead of 300).
PYTEST_WORKERS ?= 2
test: venv
	sh scripts/install_chromium.sh
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile
	$(BIN)/pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile --clock-shift-days=365

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_import_cycles.py
	$(BIN)/hadolint Dockerfile

clean:
	rm -rf $(VENV) build *.egg-info

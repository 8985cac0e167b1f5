# ServiceTrail: `make run` and `make test` install what is missing first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install browser run test bench chaos lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --constraint constraints.txt --editable ".[test]"
	touch $(STAMP)

# Headless Chromium for the dashboard's browser test (Debian package; we run as root).
browser:
	test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

run: install
	$(BIN)/servicetrail run

test: install browser
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check shared services tests benchmarks

bench: install
	$(BIN)/python -m benchmarks.run

# Real faults (SIGKILL, PostgreSQL and broker restarts, a stopped leader) under load; exits
# non-zero on any loss or duplicate. A short version runs in `make test`.
chaos: install
	$(BIN)/python -m tests.chaos

clean:
	rm -rf $(VENV) var .pytest_cache

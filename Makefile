# Two commands: `make run` and `make test`. Everything else is for the curious.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
export PORT
# `make run` (and the targets it runs first) is development: DEBUG on and the public
# development SECRET_KEY. Nothing else gets these defaults; production sets SECRET_KEY.
migrate seed run bench: export FUNNEL_DEV ?= 1
# honcho hands each process its own PORT (web 8000, worker 8100, beat 8200): the web
# server binds to FUNNEL_WEB_PORT, and the worker's email/webhook links use it too.
FUNNEL_WEB_PORT := $(PORT)
export FUNNEL_WEB_PORT

.PHONY: run test drills install migrate seed lint format bench bench-ingest bench-rescore bench-latency compose-check smoke clean lock audit

# Every install is the locked set (exact versions and hashes, made by pip-tools from
# pyproject.toml's ranges), then Funnel itself on top without resolving anything again.
LOCK := requirements-dev.lock
LOCK_OPTS := --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade)

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	@echo ""
	@echo "  Funnel is starting at http://127.0.0.1:$(PORT)/"
	@echo "  Log in as marketer, rep1, rep2, manager or admin with the password '$${FUNNEL_DEMO_PASSWORD:-funnel-demo}'."
	@echo "  Web server, Celery worker and beat run together; Ctrl-C stops all of them."
	@echo ""
	$(BIN)/honcho start -f Procfile

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Fault drills with real processes (gunicorn, workers, a redis-server of their own on
# ports 9560-9599, PostgreSQL): each prints its counts. Needs DATABASE_URL and REDIS_URL.
drills: install
	$(BIN)/python -m pytest -m drill -s tests/drills $(PYTEST_ARGS)

smoke: install
	$(BIN)/python -m pytest -m smoke $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/run_all.py $(BENCH)

compose-check: install
	$(BIN)/python -m pytest tests/test_compose.py -q

# Re-pin after changing pyproject.toml's dependencies; `make lock UPGRADE=1` moves every
# package to the newest release its range allows. Commit both lock files.
lock: install
	$(BIN)/pip-compile $(LOCK_OPTS) --extra dev -o requirements-dev.lock pyproject.toml
	$(BIN)/pip-compile $(LOCK_OPTS) -o requirements.lock pyproject.toml

# Known vulnerabilities in the locked set (pip-audit); warns loudly if its database is out of reach.
audit: install
	$(BIN)/python .ci/audit.py $(LOCK)

clean:
	rm -rf var/ $(VENV)

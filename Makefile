# Two commands: `make run` and `make test`. Everything else is for the curious.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
export PORT
# honcho hands each process its own PORT (web 8000, worker 8100, beat 8200): the web
# server binds to FUNNEL_WEB_PORT, and the worker's email/webhook links use it too.
FUNNEL_WEB_PORT := $(PORT)
export FUNNEL_WEB_PORT

.PHONY: run test install migrate seed lint format bench bench-ingest bench-rescore bench-latency compose-check smoke clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
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

clean:
	rm -rf var/ $(VENV)

# The two commands a fresh machine needs: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup run test quality frontend-test format bench serve clean

setup:
	@bash scripts/setup.sh

# The main job on the embedded defaults: SQLite and the built-in tiny model, no downloads.
run: setup
	$(VENV)/bin/lorakit demo

quality: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The web app (frontend/): API client drift, type check, lint, unit and end-to-end tests (skipped without Node,
# except in CI).
frontend-test: setup
	@bash scripts/frontend_test.sh

test: setup quality frontend-test
	$(PY) -m pytest -q

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

serve: setup
	$(VENV)/bin/lorakit serve

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache

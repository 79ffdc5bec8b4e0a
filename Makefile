# The two commands a fresh machine needs: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup run test quality format bench serve clean

setup:
	@bash scripts/setup.sh

# The main job on the embedded defaults: SQLite and the built-in tiny model, no downloads.
run: setup
	$(VENV)/bin/lorakit demo

quality: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: setup quality
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

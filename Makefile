# The two Quick-start commands (`make demo`, `make test`) set up .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?= -n 2

.PHONY: install demo test test-all bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/diffsal demo --out runs/demo

# The fast tier (what CI runs); `test-all` adds the tests marked slow.
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS) -m "not slow"

test-all: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/io_bench.py

clean:
	rm -rf $(VENV) runs .pytest_cache

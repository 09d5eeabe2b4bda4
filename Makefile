# Every target creates .venv with python3.10 when it is missing (lava-nc needs Python < 3.11).
PYTHON ?= python3.10
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench examples-table figures install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/neuromorph compare examples/squid_hh.toml --backend both --out out/squid_hh

# One pytest-xdist worker per core; tests sharing a module- or session-scoped fixture stay on one
# worker (tests/conftest.py), so that a Brian2 reference or a cluster is still built once.
test: $(STAMP)
	$(PY) -m pytest -q -n auto --dist loadgroup --durations=25

bench: $(STAMP)
	$(PY) bench/bench_neuron.py

examples-table: $(STAMP)
	$(PY) examples/fidelity_table.py

figures: $(STAMP)
	$(PY) examples/biophysics_tour.py --out docs/figures

clean:
	rm -rf $(VENV) out .pytest_cache

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

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/bench_neuron.py

examples-table: $(STAMP)
	$(PY) examples/fidelity_table.py

figures: $(STAMP)
	$(PY) examples/biophysics_tour.py --out docs/figures

clean:
	rm -rf $(VENV) out .pytest_cache

# The two commands of the README: `make demo` and `make test`. Both create .venv on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# CPU build of PyTorch, installed first so that no multi-GB CUDA build is pulled in.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: install demo test test-all benchmarks docs clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev,lora,benchmarks,docs]"
	touch $(STAMP)

install: $(STAMP)

# The development data of this repository sits beside the clone; the demo falls back to a synthetic catalog.
ONLINE_RETAIL ?= $(wildcard ../shared/data/online_retail/online_retail.csv.gz)

demo: $(STAMP)
	DARTS_LLM_ONLINE_RETAIL="$(ONLINE_RETAIL)" $(VENV)/bin/darts-llm demo

# pytest exits 5 when it collects no test: that is a failure, not a pass.
test: $(STAMP)
	$(PY) -m pytest -m "not slow" -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

test-all: $(STAMP)
	$(PY) -m pytest -q

benchmarks: $(STAMP)
	$(PY) benchmarks/encode_speed.py
	$(PY) benchmarks/model_speed.py
	$(PY) benchmarks/time_mmd.py
	$(PY) benchmarks/online_retail.py

docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict

clean:
	rm -rf $(VENV) site darts_logs .pytest_cache

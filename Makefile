# The two commands of the README: `make run` and `make test`. Both install what they need.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-fast screenshots migrate demo bench lint clean-var

$(STAMP): requirements.txt tools/bootstrap.sh
	bash tools/bootstrap.sh
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	DEBUG=on $(PY) manage.py demo_setup

run: demo
	@echo "serving on http://$(HOST):$(PORT)/ (embedded defaults: SQLite, local storage, in-process jobs)"
	DEBUG=on $(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(PY) -m pytest

screenshots: install
	VOICEGATE_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(PY) -m pytest -m browser

test-fast: install
	$(PY) -m pytest -m "not browser and not slow"

bench: install
	$(PY) bench/run_all.py

clean-var:
	rm -rf var/

# Everything a fresh clone needs: `make run` serves the app, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1:8000

.PHONY: run test migrate clean

$(VENV)/.stamp-app: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.stamp-test: requirements-test.txt $(VENV)/.stamp-app
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

migrate: $(VENV)/.stamp-app
	DEBUG=1 $(PY) manage.py migrate --noinput

# Development: debug pages, the development key, plain HTTP, e-mails on the console.
run: migrate
	DEBUG=1 $(PY) manage.py runserver $(HOST)

test: $(VENV)/.stamp-test
	$(PY) manage.py test tests --noinput

clean:
	rm -rf $(VENV) db.sqlite3

# Everything a fresh clone needs: `make run` serves the app, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1:8000
SHIPPED_MODEL := models/alzaware-resnet50.pt

.PHONY: run test model migrate clean

$(VENV)/.stamp-app: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.stamp-test: requirements-test.txt $(VENV)/.stamp-app
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

# Until a trained model ships, a seeded, untrained stand-in lets the app run;
# every result it gives says so.
model: $(VENV)/.stamp-app
	@if [ -z "$$ALZAWARE_MODEL_PATH" ] && [ ! -f $(SHIPPED_MODEL) ] && [ ! -f models/untrained-resnet50.pt ]; then \
		$(PY) manage.py make_untrained_model; fi

migrate: model
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py runserver $(HOST)

test: $(VENV)/.stamp-test model
	$(PY) manage.py test tests --noinput

clean:
	rm -rf $(VENV) db.sqlite3 models/untrained-resnet50.pt*

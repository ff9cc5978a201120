# Everything a fresh clone needs: `make run` serves the app, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1:8000
MODEL := models/alzaware-resnet50.pt
# ONNX Runtime's copy of the model, made here at build time, never at request time (git-ignored;
# the checkpoint's SHA-256 is recorded inside it and a stale one is refused, so the app serves eager PyTorch).
ONNX := $(MODEL:.pt=.onnx)

.PHONY: run test migrate clean

$(VENV)/.stamp-app: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.stamp-test: requirements-test.txt $(VENV)/.stamp-app
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

$(ONNX): $(MODEL) $(VENV)/.stamp-app
	$(PY) manage.py export_onnx --model $(MODEL)

migrate: $(VENV)/.stamp-app
	$(PY) manage.py migrate --noinput

run: migrate $(ONNX)
	$(PY) manage.py runserver $(HOST)

test: $(VENV)/.stamp-test $(ONNX)
	$(PY) manage.py test tests --noinput

clean:
	rm -rf $(VENV) db.sqlite3 $(ONNX)

# Everything a fresh clone needs: `make run` serves the app for development, `make serve` as in production,
# `make test` runs the tests (`make test-fast` all but those tagged slow), `make lint` checks the code.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1:8000
export HOST
MODEL := models/alzaware-resnet50.pt
# ONNX Runtime's copy of the model, made here at build time, never at request time (git-ignored;
# the checkpoint's SHA-256 is recorded inside it and a stale one is refused, so the app serves eager PyTorch).
ONNX := $(MODEL:.pt=.onnx)

.PHONY: run serve test test-fast lint migrate static clean

$(VENV)/.stamp-app: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.stamp-test: requirements-test.txt $(VENV)/.stamp-app
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

# method.py names the default explanation method, which the export records: when it changes, export_onnx
# finds the file stale and writes it anew (otherwise it only touches it).
$(ONNX): $(MODEL) mri/explain/method.py $(VENV)/.stamp-app
	$(PY) manage.py export_onnx --model $(MODEL)

migrate: $(VENV)/.stamp-app
	DEBUG=1 $(PY) manage.py migrate --noinput

# Browser libraries from npm (package-lock.json), never from a CDN, into the git-ignored node_modules/:
# NiiVue's one-file build is served from vendor/ (git-ignored) as a static file; axe-core stays in
# node_modules for the browser tests.
NPM := node_modules/.stamp
$(NPM): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@
NIIVUE := vendor/niivue/niivue.umd.js
$(NIIVUE): $(NPM)
	mkdir -p $(dir $@) && cp node_modules/@niivue/niivue/dist/niivue.umd.js $@

# Collected (and compressed) again only when a source changed: it costs seconds, paid by every `make test-fast`.
STATIC_ROOT ?= staticfiles
STATIC_STAMP := $(STATIC_ROOT)/.stamp
$(STATIC_STAMP): $(VENV)/.stamp-app $(NIIVUE) $(shell find static -type f)
	$(PY) manage.py collectstatic --noinput --verbosity 0
	touch $@
static: $(STATIC_STAMP)

# A secret key made once for this checkout and kept out of git, unless SECRET_KEY is given.
.secret-key:
	umask 077 && $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

# Both start the task worker (the heatmap's faithfulness score) beside the web server and stop it with them;
# the links in its e-mails point at HOST unless SITE_URL says otherwise.
# Development: debug pages, the development key, plain HTTP, e-mails on the console.
# Both processes in development: the task worker sends the e-mails (the confirmation link among them), and
# without DEBUG it took production's SMTP and printed nothing.
run: migrate static $(ONNX)
	export DEBUG=1 SITE_URL="$${SITE_URL:-http://$(HOST)}"; \
	$(PY) manage.py task_worker --reload & trap "kill $$! 2>/dev/null" EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST)

# Production settings, but reachable over plain HTTP on this machine: HTTPS redirect, HSTS and secure cookies
# stay off unless given (set them to 1 behind a TLS proxy, README "Deploying").
serve: migrate static .secret-key $(ONNX)
	export DEBUG=0 SECRET_KEY="$${SECRET_KEY:-$$(cat .secret-key)}" \
		SECURE_SSL_REDIRECT="$${SECURE_SSL_REDIRECT:-0}" SECURE_HSTS_SECONDS="$${SECURE_HSTS_SECONDS:-0}" \
		SECURE_COOKIES="$${SECURE_COOKIES:-0}" SECURE_PROXY_SSL_HEADER="$${SECURE_PROXY_SSL_HEADER:-0}" \
		NUM_PROXIES="$${NUM_PROXIES:-0}" SITE_URL="$${SITE_URL:-http://$(HOST)}"; \
	$(PY) manage.py task_worker & trap "kill $$! 2>/dev/null" EXIT INT TERM; \
	$(PY) -m gunicorn --config alzaware/gunicorn.conf.py

# One test process per core, each with its own copy of the test database (alzaware/testing.py).
# TEST_OPTIONS: more options for the test runner, e.g. `--database-tests-only` (CI's PostgreSQL pass).
TEST := $(PY) manage.py test tests --noinput --parallel auto
test: $(VENV)/.stamp-test static $(ONNX) $(NPM)
	$(TEST) $(TEST_OPTIONS)

# Everything but what is tagged slow (training, cross-validation, browsers, real servers): CONTRIBUTING.md.
test-fast: $(VENV)/.stamp-test static $(ONNX) $(NPM)
	$(TEST) --exclude-tag slow $(TEST_OPTIONS)

# ruff (lint and import order) and mypy (strict on mri/), as configured in pyproject.toml.
lint: $(VENV)/.stamp-test
	$(PY) -m ruff check .
	$(PY) -m mypy

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm .cache staticfiles .secret-key $(ONNX) node_modules vendor/niivue

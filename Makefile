# Everything a fresh clone needs: `make run` serves the app for development, `make serve` as in production,
# `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1:8000
export HOST

.PHONY: run serve test migrate static clean

$(VENV)/.stamp-app: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.stamp-test: requirements-test.txt $(VENV)/.stamp-app
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

migrate: $(VENV)/.stamp-app
	$(PY) manage.py migrate --noinput

# Browser libraries from npm (package-lock.json), never from a CDN: NiiVue's one-file build is served from
# vendor/ (git-ignored) as a static file; axe-core stays in node_modules for the browser tests.
NIIVUE := vendor/niivue/niivue.umd.js
$(NIIVUE): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	mkdir -p $(dir $@) && cp node_modules/@niivue/niivue/dist/niivue.umd.js $@

static: $(VENV)/.stamp-app $(NIIVUE)
	$(PY) manage.py collectstatic --noinput --verbosity 0

# A secret key made once for this checkout and kept out of git, unless SECRET_KEY is given.
.secret-key:
	umask 077 && $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

# Both start the task worker (the heatmap's faithfulness score) beside the web server and stop it with them.
run: migrate static
	$(PY) manage.py db_worker --reload & trap "kill $$! 2>/dev/null" EXIT INT TERM; \
	DEBUG=1 $(PY) manage.py runserver $(HOST)

serve: migrate static .secret-key
	export DEBUG=0 SECRET_KEY="$${SECRET_KEY:-$$(cat .secret-key)}"; \
	$(PY) manage.py db_worker & trap "kill $$! 2>/dev/null" EXIT INT TERM; \
	$(PY) -m gunicorn --config alzaware/gunicorn.conf.py

test: $(VENV)/.stamp-test static
	$(PY) manage.py test tests --noinput

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .secret-key node_modules vendor/niivue

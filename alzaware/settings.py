"""AlzAware settings: every value can be set from the environment, with working defaults."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

import mri
from alzaware.sqlite import for_concurrent_use

BASE_DIR = Path(__file__).resolve().parent.parent


TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def env_bool(name, default):
    """A yes/no variable: unset or empty means ``default``; a value that is neither yes nor no (a typo such as
    "ture") stops the process instead of silently meaning no."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value not in TRUE | FALSE:
        raise ImproperlyConfigured(f"{name} must be one of {sorted(TRUE | FALSE)}, not {value!r}.")
    return value in TRUE


def env_list(name, default):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Off unless switched on: `make run` sets DEBUG=1 for development.
DEBUG = env_bool("DEBUG", False)
# DEBUG off gets production's defaults. The test runner (alzaware.testing) runs with DEBUG off but is no
# deployment: it switches back to plain HTTP when it sets up, as Django itself switches e-mail off there.
PRODUCTION = not DEBUG

# Commands that serve no one (analyze, migrate, scripts that read the settings) may use the development key;
# the WSGI and ASGI applications refuse it when DEBUG is off (alzaware.serving), so no server starts with it.
DEVELOPMENT_KEY = "dev-only-insecure-key-change-me"
SECRET_KEY = os.environ.get("SECRET_KEY", "") or DEVELOPMENT_KEY
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# HTTPS: on by default in production, each switchable for a deployment that terminates TLS elsewhere.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Trust X-Forwarded-Proto only behind a proxy that sets it (and strips it from clients).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("SECURE_PROXY_SSL_HEADER", PRODUCTION) else None
# Proxies in front of the app whose X-Forwarded-For is trusted to give the client's address (rate limits).
NUM_PROXIES = int(os.environ.get("NUM_PROXIES", 1 if PRODUCTION else 0))

INSTALLED_APPS = [
    "alzaware.apps.AdminConfig",  # Django's admin with the doctor's desk (alzaware.admin_site)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_tasks",
    "django_tasks_db",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "accounts",
    "audit",
    "assessments",
    # Deletes a FileField's file when its row is deleted (after the commit) or the field is replaced: a
    # deleted account or assessment leaves no scan, overlay, map or slice image behind. Last, as it asks.
    "django_cleanup.apps.CleanupConfig",
]

MIDDLEWARE = [
    "alzaware.middleware.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from the app server (compressed, cacheable): no separate web server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "alzaware.middleware.private_by_default",
    # Refuses an oversized body before the CSRF check (a process_view, run after every middleware's call) or a
    # view reads it; below the others so that its 413 gets the same headers as every answer.
    "alzaware.middleware.limit_request_body",
    # Last, as django-axes asks: it turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First, so that a locked-out account or address is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "alzaware.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "alzaware.wsgi.application"
TEST_RUNNER = "alzaware.testing.TestRunner"

# SQLite (the default) in WAL mode, with a busy timeout and immediate transactions (alzaware/sqlite.py).
DATABASES = {
    "default": for_concurrent_use(dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60
    ))
}

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "assessments:history"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# vendor/: browser libraries the Makefile installs from npm (git-ignored; see package.json).
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor", BASE_DIR / "vendor")]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}


def object_storage(bucket, endpoint_url=None, region_name=None):
    """Scans and overlays in an S3-compatible object store (AWS, MinIO, Ceph...), so that several app servers
    share them; credentials come the usual boto3 ways (AWS_ACCESS_KEY_ID... or a role). Objects stay private:
    the app serves them itself, after its access check."""
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": bucket, "endpoint_url": endpoint_url or None, "region_name": region_name or None,
        "default_acl": "private", "file_overwrite": False}}


if os.environ.get("S3_BUCKET"):
    STORAGES["default"] = object_storage(os.environ["S3_BUCKET"], os.environ.get("S3_ENDPOINT_URL"),
                                         os.environ.get("S3_REGION"))

# Scans and overlays live here but are never served as public media: a view
# checks who is asking first (assessments.views.scan_file).
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/private-media/"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Development prints e-mails (password-reset links) to the console; production sends them by SMTP and never
# prints them: a reset link in a server log is a way into the account.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.console.EmailBackend",
)
# With the file-based backend (a staging server, benchmarks/smoke_session.py): one file per message in this folder.
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 587 if PRODUCTION else 25))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", PRODUCTION)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "AlzAware <noreply@localhost>")
# The site's own address, for the links in e-mails (written by the task worker, where no request says it).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", 20 * 1024 * 1024))
# Django's own limit counts only the non-file fields; an upload's size is checked before its body is parsed
# (alzaware.middleware.limit_request_body) and files over this threshold are spooled to disk, not memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# A DICOM series may be uploaded as its files picked together, one per slice: as many as a ZIP may hold
# (mri.io.archive.MAX_FILES; tests.core.test_dicom_series holds the two equal).
DATA_UPLOAD_MAX_NUMBER_FILES = 5000

# The trained model that ships in the repo (MODEL_CARD.md). The untrained stand-in of
# `python -m training make_untrained_model` is a test fixture, never served by default.
SHIPPED_MODEL = mri.SHIPPED_MODEL
ALZAWARE_MODEL_PATH = Path(os.environ.get("ALZAWARE_MODEL_PATH", SHIPPED_MODEL))

# Work done after the response (the heatmap's faithfulness score): queued in the database, in the same
# transaction as the assessment, and run by `manage.py task_worker` (`make run` and `make serve` start one).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# The task worker's sweep (assessments/sweeper.py): how often; how old a stored file no row names must be before
# it is deleted (an upload stores its files before its rows commit); how long a task may run before its worker
# is taken for dead (a faithfulness score takes seconds).
SWEEP_INTERVAL_SECONDS = float(os.environ.get("SWEEP_INTERVAL_SECONDS", 600))
ORPHAN_GRACE_SECONDS = float(os.environ.get("ORPHAN_GRACE_SECONDS", 3600))
TASK_LEASE_SECONDS = float(os.environ.get("TASK_LEASE_SECONDS", 900))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First: a request without credentials gets 401 and "WWW-Authenticate: Token".
        "accounts.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "EXCEPTION_HANDLER": "assessments.api.schema.exception_handler",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": int(os.environ.get("API_PAGE_SIZE", 50)),
    "NUM_PROXIES": NUM_PROXIES,
    # Rates per scope of accounts.throttles and assessments.api.views; each a number per second/minute/hour/day.
    "DEFAULT_THROTTLE_RATES": {
        # Each call runs the network for seconds of CPU: a patient uploads a few scans, not hundreds.
        "predict": os.environ.get("PREDICT_RATE", "30/hour") or None,  # "" lifts the limit
        "token_email": os.environ.get("TOKEN_RATE", "20/hour"),
        "token_address": os.environ.get("TOKEN_ADDRESS_RATE", "100/hour"),
        "reset_email": os.environ.get("PASSWORD_RESET_RATE", "5/hour"),
        "reset_address": os.environ.get("PASSWORD_RESET_ADDRESS_RATE", "20/hour"),
        "signup_address": os.environ.get("SIGNUP_ADDRESS_RATE", "10/hour"),
        # Per account, on the password-change and close-account forms.
        "password_check": os.environ.get("PASSWORD_CHECK_RATE", "10/hour"),
    },
}
API_TOKEN_LIFETIME = timedelta(hours=float(os.environ.get("API_TOKEN_HOURS", 24)))

# The throttles' counts live in the default cache, which every server process must share: with a cache per
# process (Django's default), each gunicorn worker kept its own counts and 51 of 70 predictions got through the
# 30/hour limit (issue 25). Files in a folder shared by the processes of one machine by default; several
# machines need one shared cache (CACHE_BACKEND/CACHE_LOCATION, e.g. the database cache after
# `createcachetable`). The test runner gives the tests a folder of their own (alzaware/testing.py).
CACHES = {
    "default": {
        "BACKEND": os.environ.get("CACHE_BACKEND", "django.core.cache.backends.filebased.FileBasedCache"),
        "LOCATION": os.environ.get("CACHE_LOCATION") or str(BASE_DIR / ".cache"),
    }
}

# Wrong passwords (login page, admin, /api/token/): after LOGIN_FAILURE_LIMIT failures an e-mail address,
# and separately a client address, is locked out for LOGIN_LOCKOUT_MINUTES (HTTP 429).
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("LOGIN_LOCKOUT_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.lockout.username_of"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# The client's address behind NUM_PROXIES proxies, by the same rule as the throttles and the audit (without it,
# and without django-ipware, axes counted every guess against the proxy's address).
AXES_CLIENT_IP_CALLABLE = "accounts.addresses.client_address"
# Failed attempts are counted, not logged with their passwords; the address log of axes is not needed.
AXES_DISABLE_ACCESS_LOG = True

# Everything from this site only: no inline script anywhere. Style attributes stay allowed (the result page's
# probability bars and the admin's image captions use them; an attribute cannot run script).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": ["'unsafe-inline'"],
        # data: for the 3-D viewer (NiiVue draws its font atlas from a data: image); no script runs from one.
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

SPECTACULAR_SETTINGS = {
    "TITLE": "AlzAware API",
    "VERSION": "1",
    "DESCRIPTION": "Grade a brain MRI slice or volume and read back your results. Not a diagnostic device. "
                   "Every error answers {\"error\": code, \"detail\": text}. Authenticate with "
                   "'Authorization: Token <token>' from /api/token/, or a logged-in session.",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        # Every unhandled exception of a request (an HTTP 500), with its traceback, on the server's error
        # stream: Django's default sends them only to ADMINS by e-mail when DEBUG is off, which logged nothing.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        # A task that raised (the faithfulness score), with its traceback, from the task worker.
        "django_tasks": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "assessments": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
        # Lockouts (addresses and e-mails masked by django-axes); the test runner quiets them, since the tests
        # provoke dozens on purpose.
        "axes": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO"),
                 "propagate": False},
    },
}

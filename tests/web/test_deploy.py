"""Safe to deploy: production settings by default, `check --deploy` clean, CSP and Cache-Control headers."""

import json
import os
import secrets
import subprocess
import sys
from unittest import mock

from django.conf import settings
from django.test import SimpleTestCase, tag
from django.urls import reverse

from tests.base import AlzAwareTestCase, drawn_brain_slice, image_bytes, upload

PRODUCTION = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50)[:50], "ALLOWED_HOSTS": "example.org"}
SHOWN = ["DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
         "SECURE_PROXY_SSL_HEADER", "EMAIL_BACKEND"]


def run(args, **env):
    """``args`` in a fresh Python with only ``env`` changed from a bare environment (no DEBUG, no key)."""
    base = {key: value for key, value in os.environ.items()
            if key not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE"}
            and not key.startswith(("SECURE_", "EMAIL_"))}
    return subprocess.run([sys.executable, *args], env={**base, **env}, capture_output=True, text=True,
                          timeout=300, cwd=settings.BASE_DIR)


def settings_of(**env):
    """The settings a fresh process gets under ``env``: the settings module alone, without loading the apps
    (django.setup() would import the model's libraries too, for seconds, and the values are the same)."""
    code = ("import json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'alzaware.settings'; "
            f"from django.conf import settings; print(json.dumps({{n: getattr(settings, n) for n in {SHOWN!r}}}))")
    done = run(["-c", code], **env)
    if done.returncode:
        raise AssertionError(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


@tag("slow")  # each test starts the whole app (its libraries included) in a fresh Python process
class DeploySettingsTests(SimpleTestCase):
    def test_check_deploy_reports_no_issues_under_the_production_variables(self):
        done = run(["manage.py", "check", "--deploy"], **PRODUCTION)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.strip(), "System check identified no issues (0 silenced).")

    def test_a_server_without_a_secret_key_refuses_to_start_when_debug_is_off(self):
        # A database that needs no server: runserver checks migrations before the WSGI application refuses.
        done = run(["manage.py", "runserver", "--noreload", "127.0.0.1:0"], DEBUG="0", DATABASE_URL="sqlite:///:memory:")
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("SECRET_KEY must be set when DEBUG is off", done.stderr)
        wsgi = run(["-c", "import alzaware.wsgi"], DEBUG="0")
        self.assertIn("SECRET_KEY must be set when DEBUG is off", wsgi.stderr)

    def test_an_unknown_yes_or_no_value_stops_the_settings_instead_of_meaning_no(self):
        done = run(["-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'alzaware.settings'; "
                          "django.setup()"], SECURE_COOKIES="ture", SECRET_KEY=PRODUCTION["SECRET_KEY"])
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("ImproperlyConfigured: SECURE_COOKIES must be one of", done.stderr)


class SettingsValueTests(SimpleTestCase):
    """What the settings module gives under an environment, each read in a fresh process (the settings
    alone, a second or so)."""

    def test_debug_is_off_and_production_is_secure_by_default(self):
        shown = settings_of(SECRET_KEY=PRODUCTION["SECRET_KEY"])
        self.assertEqual(shown, {
            "DEBUG": False, "SECURE_SSL_REDIRECT": True, "SECURE_HSTS_SECONDS": 31_536_000,
            "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True,
            "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
            # Password-reset links go out by SMTP, never into the server's log.
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        })

    def test_each_https_setting_can_be_switched_off_by_the_environment(self):
        shown = settings_of(SECRET_KEY=PRODUCTION["SECRET_KEY"], SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="0",
                            SECURE_COOKIES="0", SECURE_PROXY_SSL_HEADER="0")
        self.assertEqual([shown[name] for name in SHOWN[1:6]], [False, 0, False, False, None])

    def test_yes_and_no_are_read_in_any_of_their_spellings_and_empty_means_the_default(self):
        from alzaware.settings import env_bool

        for value, expected in (("1", True), (" Yes ", True), ("on", True), ("0", False), ("off", False),
                                ("FALSE", False), ("", True)):
            with self.subTest(value=value), mock.patch.dict(os.environ, {"SOME_SWITCH": value}):
                self.assertEqual(env_bool("SOME_SWITCH", True), expected)

    def test_development_keeps_the_console_email_and_plain_http(self):
        shown = settings_of(DEBUG="1")
        self.assertEqual(shown["EMAIL_BACKEND"], "django.core.mail.backends.console.EmailBackend")
        self.assertEqual([shown[name] for name in SHOWN[:5]], [True, False, 0, False, False])


class DocsTests(SimpleTestCase):
    def test_the_configuration_page_documents_every_environment_variable_the_settings_read(self):
        import re

        source = (settings.BASE_DIR / "alzaware" / "settings.py").read_text()
        names = set(re.findall(r'(?:os\.environ\.get|os\.getenv|env_\w+)\("([A-Z0-9_]+)"', source))
        self.assertGreater(len(names), 20)
        page = (settings.BASE_DIR / "docs" / "configuration.md").read_text()
        self.assertEqual(sorted(name for name in names if f"`{name}`" not in page), [])

    def test_the_readme_stays_short_and_links_every_page_of_the_docs(self):
        readme = (settings.BASE_DIR / "README.md").read_text()
        self.assertLessEqual(len(readme.splitlines()), 200)
        pages = sorted(path.name for path in (settings.BASE_DIR / "docs").glob("*.md"))
        self.assertIn("deploying.md", pages)
        self.assertEqual([name for name in pages if f"docs/{name}" not in readme], [])


class HeaderTests(AlzAwareTestCase):
    def test_an_anonymous_404_lists_no_url_patterns(self):
        response = self.client.get("/no-such-page/")
        self.assertEqual(response.status_code, 404)
        self.assertNotContains(response, "admin/", status_code=404)
        self.assertNotContains(response, "URLconf", status_code=404)

    def test_every_page_has_a_content_security_policy_without_inline_script(self):
        self.login(self.patient.user)
        for url in (reverse("login"), reverse("assessments:history"), reverse("assessments:new"),
                    reverse("preferences"), reverse("model_card"), reverse("api-docs")):
            with self.subTest(url=url):
                policy = self.client.get(url)["Content-Security-Policy"]
                self.assertIn("default-src 'self'", policy)
                self.assertIn("script-src 'self'", policy)
                self.assertNotIn("unsafe", policy.split("script-src")[1].split(";")[0])
        self.login(self.doctor)
        self.assertIn("frame-ancestors 'none'", self.client.get(reverse("admin:index"))["Content-Security-Policy"])

    def test_result_pages_and_api_answers_are_never_stored_by_caches(self):
        self.login(self.patient.user)
        answer = self.client.post(reverse("api-predict"), {"file": upload(image_bytes(drawn_brain_slice(43)))})
        self.assertEqual(answer["Cache-Control"], "private, no-store")
        page = self.client.get(answer.json()["heatmap_url"].replace("overlay.png", "").replace("http://testserver", ""))
        self.assertEqual(page.status_code, 200)
        for response in (page, self.client.get(reverse("assessments:history")),
                         self.client.get(reverse("api-assessments"))):
            self.assertEqual(response["Cache-Control"], "private, no-store")
        # Nothing personal in a colour bar: it keeps its own caching.
        self.assertEqual(self.client.get(reverse("assessments:colour_bar", args=["viridis"]))["Cache-Control"],
                         "max-age=86400")


class AccessLogTests(SimpleTestCase):
    def test_the_access_log_holds_no_query_string_and_no_referer(self):
        """A line as gunicorn writes it with the configured format, for a doctor's admin search."""
        import runpy
        import types
        from datetime import timedelta

        from gunicorn.config import Config
        from gunicorn.glogging import Logger

        conf = runpy.run_path(str(settings.BASE_DIR / "alzaware" / "gunicorn.conf.py"))
        config = Config()
        config.set("access_log_format", conf["access_log_format"])
        environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/admin/accounts/patient/?q=alice", "QUERY_STRING": "q=alice",
                   "PATH_INFO": "/admin/accounts/patient/", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.1",
                   "HTTP_REFERER": "https://alzaware.example.org/admin/accounts/patient/?q=alice",
                   "HTTP_USER_AGENT": "Firefox"}
        response = types.SimpleNamespace(status="200 OK", sent=512, headers=[])
        atoms = Logger(config).atoms(response, types.SimpleNamespace(headers=[]), environ, timedelta(seconds=1))
        line = config.access_log_format % atoms
        self.assertIn('"GET /admin/accounts/patient/ HTTP/1.1" 200 512', line)
        self.assertNotIn("alice", line)

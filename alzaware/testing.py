"""The test runner: production's settings, less what only a real deployment needs.

The settings give production's defaults whenever DEBUG is off, and ``manage.py test`` runs with DEBUG off (Django
forces it). Instead of the settings guessing from the command line that they are under test, the runner says so
when it sets up, as Django's own runner switches e-mail to its outbox there: the test client speaks plain HTTP,
from no proxy, and the many lockouts the tests provoke on purpose stay out of the log.
"""

import copy
import logging
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.test import runner as django_runner
from django.test.runner import DiscoverRunner, ParallelTestSuite
from django.test.utils import iter_test_cases, override_settings

PLAIN_HTTP = {
    "SECURE_SSL_REDIRECT": False,
    "SECURE_HSTS_SECONDS": 0,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
    "SECURE_HSTS_PRELOAD": False,
    "SESSION_COOKIE_SECURE": False,
    "CSRF_COOKIE_SECURE": False,
    "SECURE_PROXY_SSL_HEADER": None,
    "NUM_PROXIES": 0,
    "AXES_IPWARE_PROXY_COUNT": None,
    # Django's advice for test runs: production's PBKDF2 costs about half a second a password on this machine,
    # paid for every user a test makes and every password it tries (a lockout test tries a dozen).
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
}


def init_worker(counter, *args, **kwargs):
    """A parallel worker's start: Django's (its own copy of the test database), then a throttle cache of its own,
    since one worker's ``cache.clear()`` would wipe another's counts, and one torch thread, since the workers
    already share out the cores."""
    import torch

    django_runner._init_worker(counter, *args, **kwargs)
    folder = Path(settings.CACHES["default"]["LOCATION"]) / f"worker-{django_runner._worker_id}"
    override_settings(CACHES={"default": {**settings.CACHES["default"], "LOCATION": str(folder)}}).enable()
    torch.set_num_threads(1)


class WorkerSuite(ParallelTestSuite):
    init_worker = init_worker


class TestRunner(DiscoverRunner):
    parallel_test_suite = WorkerSuite

    def __init__(self, database_tests_only=False, **kwargs):
        super().__init__(**kwargs)
        self.database_tests_only = database_tests_only

    @classmethod
    def add_arguments(cls, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--database-tests-only", action="store_true",
            help="Run only the tests that may use a database (CI's second pass, on PostgreSQL): the others are "
                 "refused any database by Django, so a second database cannot change what they check.")

    def build_suite(self, *args, **kwargs):
        suite = super().build_suite(*args, **kwargs)
        if not self.database_tests_only:
            return suite
        # A plain unittest case has no such guard, so it stays.
        return self.test_suite(test for test in iter_test_cases(suite) if getattr(test, "databases", True))

    def setup_test_environment(self, **kwargs):
        super().setup_test_environment(**kwargs)
        rest_framework = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
        # In the settings too, not only on the logger: a test that sets Django up again (a WSGI application made
        # for schemathesis) configures the logging afresh from them.
        quiet = copy.deepcopy(settings.LOGGING)
        quiet["loggers"]["axes"]["level"] = "ERROR"
        # The throttles' counts in a cache of the run's own, never the server's shared folder.
        self._cache_folder = tempfile.mkdtemp(prefix="alzaware-test-cache-")
        caches = {"default": {**settings.CACHES["default"], "LOCATION": self._cache_folder}}
        self._plain_http = override_settings(**PLAIN_HTTP, REST_FRAMEWORK=rest_framework, LOGGING=quiet,
                                             CACHES=caches)
        self._plain_http.enable()
        self._axes_level = logging.getLogger("axes").level
        logging.getLogger("axes").setLevel(logging.ERROR)

    def teardown_test_environment(self, **kwargs):
        logging.getLogger("axes").setLevel(self._axes_level)
        self._plain_http.disable()
        shutil.rmtree(self._cache_folder, ignore_errors=True)
        super().teardown_test_environment(**kwargs)

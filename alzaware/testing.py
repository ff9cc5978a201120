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

from django.conf import settings
from django.test.runner import DiscoverRunner
from django.test.utils import override_settings

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
}


class TestRunner(DiscoverRunner):
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

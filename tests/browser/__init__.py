"""A real browser for the tests: Debian's chromium driven by Playwright, never a browser Playwright downloads.

Shared by the browser tests (phone width and accessibility; the timeline, PDF and 3-D viewer): a test case
class that starts one chromium per class, logs a user in by session cookie, and runs axe-core from
node_modules/ (installed by ``make test`` from package-lock.json) inside the page.
"""

import json
import os
import unittest
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from django.test import Client, tag

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AXE = settings.BASE_DIR / "node_modules" / "axe-core" / "axe.min.js"
# What the tests hold the pages to: axe's two worst impact levels.
BLOCKING_IMPACTS = ("serious", "critical")


@tag("slow")  # a live server and a real Chromium (every browser test inherits it)
class BrowserTestCase(StaticLiveServerTestCase):
    """A live server and one headless chromium for the class; ``self.browser`` makes pages."""

    @classmethod
    def setUpClass(cls):
        if not CHROMIUM.exists():
            raise unittest.SkipTest(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium), "
                                    "as .ci/run does, to run the browser tests")
        super().setUpClass()
        # Playwright's sync API runs an event loop in this thread; the ORM calls made here are still synchronous.
        # Class cleanups, not tearDownClass: they run also when a subclass's setUpClass fails after this one (axe
        # missing), so no later test inherits the variable (check --deploy refuses it) or a running event loop.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        cls.addClassCleanup(os.environ.pop, "DJANGO_ALLOW_ASYNC_UNSAFE", None)
        from playwright.sync_api import sync_playwright

        cls.playwright = sync_playwright().start()
        cls.addClassCleanup(cls.playwright.stop)
        cls.browser = cls.playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        cls.addClassCleanup(cls.browser.close)

    def open_page(self, user=None, width=1280, height=900):
        """A fresh browser context of ``width`` CSS pixels, logged in as ``user`` when given."""
        # bypass_csp: axe is injected by the test, not by the page, so a strict Content-Security-Policy
        # on the page must not stop it.
        context = self.browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
        self.addCleanup(context.close)
        if user is not None:
            client = Client()
            client.force_login(user)
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                                  "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                                  "url": self.live_server_url}])
        return context.new_page()

    def visit(self, page, path):
        response = page.goto(self.live_server_url + path)
        self.assertEqual(response.status, 200, path)
        # Not sent on elsewhere (a login page also answers 200).
        self.assertEqual(page.url.removeprefix(self.live_server_url), path)
        return page


def sideways_overflow(page):
    """How many CSS pixels the page is wider than its window (0 when it does not scroll sideways)."""
    scroll, client = page.evaluate(
        "() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
    return scroll - client


def axe_violations(page, impacts=BLOCKING_IMPACTS):
    """axe-core's violations of ``impacts`` on the page as it is now: ``[(rule id, impact, [targets])]``."""
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: `make test` installs it (npm ci)")
    # Evaluated through the DevTools protocol, so that a page's Content-Security-Policy cannot stop it.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate("async () => (await axe.run(document)).violations.map("
                          "v => [v.id, v.impact, v.nodes.map(n => n.target.join(' '))])")
    return [tuple(one) for one in found if one[1] in impacts]


def described(violations):
    return json.dumps(violations, indent=1)

"""The default SQLite database holds concurrent writers (alzaware/sqlite.py), and an unhandled exception is
logged with its traceback."""

import io
import logging
import tempfile
import threading
import unittest
from pathlib import Path
from unittest import mock

from django.conf import settings
from django.db import connections
from django.urls import reverse

from alzaware.sqlite import for_concurrent_use
from tests.base import AlzAwareTestCase

WRITERS = 10


class SQLiteUnderConcurrentWritesTests(unittest.TestCase):
    """Ten threads at once, each reading then writing in one transaction, as an account deletion does (it reads
    the rows to cascade, then deletes them), on a file database set up as the settings set up SQLite. With
    Django's defaults, 4 of the 10 fail with "database is locked". (A plain unittest case: Django's test cases
    forbid connections to an alias of their own.)"""

    def run_writers(self, database):
        with tempfile.TemporaryDirectory() as folder:
            alias = "concurrency"
            # Django's defaults for every key (those of the configured database), then SQLite's and ``database``'s.
            connections.settings[alias] = {**connections.settings["default"], "OPTIONS": {}, **database,
                                           "NAME": str(Path(folder) / "db.sqlite3"), "CONN_MAX_AGE": 0}
            self.addCleanup(connections.settings.pop, alias, None)
            with connections[alias].cursor() as cursor:
                cursor.execute("CREATE TABLE counts (n integer)")
            connections[alias].close()
            failures, barrier = [], threading.Barrier(WRITERS)

            def writer():
                from django.db import transaction

                connection = connections[alias]  # each thread has its own
                try:
                    barrier.wait()
                    with transaction.atomic(using=alias), connection.cursor() as cursor:
                        cursor.execute("SELECT count(*) FROM counts")
                        cursor.execute("INSERT INTO counts VALUES (1)")
                except Exception as error:
                    failures.append(str(error))
                finally:
                    connection.close()

            threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return failures

    def test_ten_read_then_write_transactions_at_once_all_commit(self):
        database = for_concurrent_use({"ENGINE": "django.db.backends.sqlite3"})
        self.assertEqual(self.run_writers(database), [])

    def test_the_default_database_is_set_up_so_when_it_is_sqlite(self):
        database = settings.DATABASES["default"]
        if database["ENGINE"] != "django.db.backends.sqlite3":
            self.skipTest("PostgreSQL takes row locks; nothing to set up")
        self.assertEqual(database["OPTIONS"]["transaction_mode"], "IMMEDIATE")
        self.assertGreaterEqual(database["OPTIONS"]["timeout"], 20)
        self.assertIn("journal_mode=WAL", database["OPTIONS"]["init_command"])


class ErrorLoggingTests(AlzAwareTestCase):
    def test_an_unhandled_exception_is_logged_with_its_traceback(self):
        """Through the handlers LOGGING configures (not a test's own), as `make serve` would write them."""
        stream = io.StringIO()
        handlers = [h for h in logging.getLogger("django.request").handlers if isinstance(h, logging.StreamHandler)]
        self.assertEqual(len(handlers), 1)
        old = handlers[0].setStream(stream)
        self.addCleanup(handlers[0].setStream, old)
        self.login(self.patient.user)
        self.client.raise_request_exception = False
        with mock.patch("assessments.presentation.timeline.timeline_page", side_effect=RuntimeError("forced")):
            answer = self.client.get(reverse("assessments:timeline"))
        self.assertEqual(answer.status_code, 500)
        self.assertIn("Traceback (most recent call last)", stream.getvalue())
        self.assertIn("RuntimeError: forced", stream.getvalue())

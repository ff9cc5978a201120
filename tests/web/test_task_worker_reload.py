"""`make run`'s task worker (`task_worker --reload`) restarts after a code change even while the network runs."""

import subprocess
import sys
import textwrap

from django.conf import settings
from django.test import SimpleTestCase, tag

# The reloader's child (RUN_MAIN=true), with the network busy in another thread as during a task, when a
# watched file changes. The queue itself is left out: `handle` of django-tasks-db's worker is replaced by that.
CHILD = textwrap.dedent("""
    import os, sys, threading
    os.environ["RUN_MAIN"] = "true"
    import django
    django.setup()
    from pathlib import Path
    from unittest import mock
    from django.conf import settings
    from django.utils.autoreload import file_changed
    from django_tasks_db.management.commands.db_worker import Command as DatabaseWorker
    from assessments.management.commands import task_worker
    from mri.inference.engine import get_engine
    from tests.base import drawn_brain_slice

    engine = get_engine(settings.ALZAWARE_MODEL_PATH)
    gray = drawn_brain_slice(0)
    running = threading.Event()

    def network_busy():
        while True:
            running.set()
            engine.analyse_many([gray] * 4)

    def worker(*args, **options):
        threading.Thread(target=network_busy, daemon=True).start()
        running.wait()
        file_changed.send(sender=None, file_path=Path("assessments/tasks.py"))
        print("the worker went on running the old code")

    with mock.patch.object(DatabaseWorker, "handle", worker), mock.patch.object(task_worker, "start_sweeping"):
        task_worker.Command().handle(reload=True)
""")


@tag("slow")  # a Python process of its own, with the model loaded
class ReloadTests(SimpleTestCase):
    def test_a_changed_file_ends_the_child_with_the_reloaders_restart_code_not_an_abort(self):
        # Django's own reload (sys.exit(3)) here aborted the process (exit 134, "terminate called without an
        # active exception"), and the reloader then stopped instead of starting a fresh worker.
        done = subprocess.run([sys.executable, "-c", CHILD], cwd=settings.BASE_DIR, capture_output=True, text=True,
                              timeout=120)
        self.assertEqual(done.returncode, 3, done.stderr[-2000:])
        self.assertIn("assessments/tasks.py changed, reloading.", done.stderr)
        self.assertNotIn("the worker went on running the old code", done.stdout)

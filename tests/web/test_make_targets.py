"""`make run` and `make serve` start the web server and the task worker with the same settings: a worker left
with production's while the server runs development's sent the confirmation e-mail by SMTP, so a newcomer on a
fresh clone never saw the link."""

import os
import shutil
import stat
import subprocess
import unittest

from django.conf import settings
from django.test import SimpleTestCase

from tests.base import temporary_folder

# Built already by whatever runs the tests (make test): not remade here, so nothing in the checkout changes.
PREREQUISITES = ["migrate", "static", ".secret-key", "models/alzaware-resnet50.onnx"]
# Notes how it was started. The web server (in the foreground) stays up, as a real one does, until the worker
# started before it in the background has noted itself too (at most 10 s), so that make's trap does not stop
# the worker first.
FAKE_PYTHON = """#!/bin/sh
started="$(dirname "$0")/started"
echo "DEBUG=${DEBUG:-unset} SITE_URL=${SITE_URL:-unset} $*" >> "$started"
case "$*" in *runserver*|*gunicorn*)
    for _ in $(seq 50); do [ "$(wc -l < "$started")" -ge 2 ] && break; sleep 0.2; done;;
esac
"""


@unittest.skipUnless(shutil.which("make"), "make is not installed")
class MakeTargetTests(SimpleTestCase):
    def started_by(self, target):
        """``{command: (DEBUG, SITE_URL)}`` for each Python command ``make target`` starts, none of them run."""
        folder = temporary_folder(self)
        python = folder / "python"
        python.write_text(FAKE_PYTHON)
        python.chmod(python.stat().st_mode | stat.S_IXUSR)
        env = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "SITE_URL", "HOST"}}
        skipped = [option for name in PREREQUISITES for option in ("-o", name)]
        done = subprocess.run(["make", "-s", *skipped, target, f"PY={python}", "HOST=127.0.0.1:8765"],
                              cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = (folder / "started").read_text().splitlines()
        return {" ".join(line.split()[2:]): tuple(word.split("=", 1)[1] for word in line.split()[:2])
                for line in lines}

    def test_make_run_starts_the_server_and_the_worker_in_development_linking_to_host(self):
        self.assertEqual(self.started_by("run"), {
            "manage.py task_worker --reload": ("1", "http://127.0.0.1:8765"),
            "manage.py runserver 127.0.0.1:8765": ("1", "http://127.0.0.1:8765"),
        })

    def test_make_serve_starts_both_in_production(self):
        self.assertEqual(self.started_by("serve"), {
            "manage.py task_worker": ("0", "http://127.0.0.1:8765"),
            "-m gunicorn --config alzaware/gunicorn.conf.py": ("0", "http://127.0.0.1:8765"),
        })

"""``manage.py task_worker``: django-tasks-db's ``db_worker`` (same options), which also sweeps up after crashes
(assessments.sweeper) when it starts and every SWEEP_INTERVAL_SECONDS."""

import logging
import os
import sys

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, file_changed
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorker

from assessments.sweeper import start_sweeping

log = logging.getLogger(__name__)


def restart_at_once(sender, file_path, **kwargs):
    """Leave for the reloader to start a fresh worker, without the interpreter's shutdown: Django's own reload
    (``sys.exit(3)``) tears the interpreter down under a running network's thread pools, which aborts the
    process ("terminate called without an active exception", exit 250), and the reloader then gives up instead
    of restarting it. A task cut off here is run again once its lease runs out (assessments.sweeper)."""
    log.info("%s changed, reloading.", file_path)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(3)


class Command(DatabaseWorker):
    help = "Run queued tasks (the heatmaps' faithfulness scores) and sweep up what a crash left behind."

    def handle(self, *args, **options):
        reload = options.get("reload")
        # With --reload the first process only restarts the second, which does the work (and the sweeping).
        if reload and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            return super().handle(*args, **options)
        start_sweeping()
        if reload:
            file_changed.connect(restart_at_once, dispatch_uid="task_worker_restart_at_once")
        return super().handle(*args, **options)

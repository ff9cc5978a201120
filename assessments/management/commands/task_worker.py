"""``manage.py task_worker``: django-tasks-db's ``db_worker`` (same options), which also sweeps up after crashes
(assessments.sweeper) when it starts and every SWEEP_INTERVAL_SECONDS."""

import os

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorker

from assessments.sweeper import start_sweeping


class Command(DatabaseWorker):
    help = "Run queued tasks (the heatmaps' faithfulness scores) and sweep up what a crash left behind."

    def handle(self, *args, **options):
        # With --reload the first process only restarts the second, which does the work (and the sweeping).
        if not options.get("reload") or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
            start_sweeping()
        return super().handle(*args, **options)

"""``python manage.py cv_report``: every figure of the model card, recomputed from the out-of-fold logits."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Recompute the calibration choice, the four-class and any-impairment figures with their intervals "
            "from oof_logits.csv (see assessments.ml.cv_report); with --data the linear baseline too.")
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--oof", default=str(Path(settings.SHIPPED_MODEL).with_suffix("") / "oof_logits.csv"))
        parser.add_argument("--data", default=None,
                            help="the training folder: refits the linear baseline on the same folds")
        parser.add_argument("--json", action="store_true", help="print the whole report as JSON")

    def handle(self, *args, oof, data, **options):
        from assessments.ml import cv_report

        if not Path(oof).exists():
            raise CommandError(f"{oof} does not exist")
        try:
            report, _, _ = cv_report.from_file(oof, Path(data) if data else None)
        except (KeyError, ValueError) as exc:
            raise CommandError(f"cannot read {oof}: {exc}") from exc
        self.stdout.write(json.dumps(report, default=float) if options["json"] else cv_report.format_markdown(report))

"""``python manage.py evaluate_model --data DIR [--json]``: measure a checkpoint on labelled slices."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Evaluate the app's checkpoint (or --model) on a folder of <class name>/<images>, optionally with "
            "manifest.csv (path,label,subject,slice). Classes absent from the folder are left out of the "
            "averages; subject accuracy uses each subject's mean slice probability. Where the folder holds "
            "the checkpoint's training subjects, the linear baseline is fitted on them and measured on the "
            "same evaluated slices.")
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, help="folder of <class name>/<images> or with manifest.csv")
        parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        parser.add_argument("--model", default=None, help="checkpoint (default: settings.ALZAWARE_MODEL_PATH)")
        parser.add_argument("--subjects", default=None,
                            help="only these subjects: a split.json (its 'val' list) or a text file, one per line")
        parser.add_argument("--held-out", action="store_true",
                            help="only the validation subjects recorded in the checkpoint's metadata")
        parser.add_argument("--no-baseline", action="store_true", help="skip the linear baseline")
        parser.add_argument("--threads", type=int, default=2)

    def handle(self, *args, **opts):
        from assessments.ml.checkpoint import CheckpointError
        from assessments.ml.evaluation import evaluate, format_report, read_subject_list

        data = Path(opts["data"])
        if not data.is_dir():
            raise CommandError(f"{data} is not a folder")
        model = Path(opts["model"] or settings.ALZAWARE_MODEL_PATH)
        subjects = read_subject_list(opts["subjects"]) if opts["subjects"] else None
        try:
            report = evaluate(model, data, subjects=subjects, held_out=opts["held_out"],
                              baseline=not opts["no_baseline"], threads=opts["threads"])
        except (CheckpointError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if opts["json"]:
            self.stdout.write(json.dumps(report))
        else:
            self.stdout.write(f"model: {model}" + ("" if report["trained"] else "  (UNTRAINED)"))
            self.stdout.write(format_report(report))

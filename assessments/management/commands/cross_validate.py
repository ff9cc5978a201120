"""``python manage.py cross_validate --data DIR``: the whole model protocol of issue 9, resumable.

1. K-fold cross-validation over every subject -> ``<report dir>/oof_logits.csv``;
2. calibration chosen and every figure computed from those logits -> ``cv_report.json`` / ``.md``;
3. the same recipe on every subject -> the shipped checkpoint with that calibration.

Rerun the same command after an interruption: finished folds are kept and the
running one continues from its last epoch.
"""

import json
from pathlib import Path

import torch
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

QUICK_RECIPE = {"img_size": 32, "epochs": 1, "warmup_epochs": 1, "batch_size": 16}


class Command(BaseCommand):
    help = ("Grouped, class-stratified K-fold cross-validation over every subject, calibration and figures "
            "from the out-of-fold logits, then the final model on every subject (see assessments.ml.crossval).")
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, help="folder with manifest.csv and the images")
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--out", default=None, help="checkpoint to write (default models/alzaware-resnet50.pt)")
        parser.add_argument("--run-dir", default="runs/cv", help="resumable training state (default runs/cv)")
        parser.add_argument("--report-dir", default=None,
                            help="out-of-fold logits and report (default: <out without .pt>/)")
        parser.add_argument("--threads", type=int, default=2)
        parser.add_argument("--device", default="auto", help="cpu, cuda, or auto")
        parser.add_argument("--quick", action="store_true", help="smoke run: 12 subjects, 32 px, 1 epoch")

    def handle(self, *args, **opts):
        from assessments.ml import crossval, cv_report

        data = Path(opts["data"])
        if not data.is_dir():
            raise CommandError(f"{data} is not a folder")
        out = Path(opts["out"] or settings.SHIPPED_MODEL)
        report_dir = Path(opts["report_dir"] or out.with_suffix(""))
        report_dir.mkdir(parents=True, exist_ok=True)
        run_dir = Path(opts["run_dir"])
        common = {"recipe": QUICK_RECIPE if opts["quick"] else None, "threads": opts["threads"],
                  "device": opts["device"], "log": self.stdout.write,
                  "subjects_limit": 12 if opts["quick"] else None}
        oof = report_dir / "oof_logits.csv"
        try:
            crossval.write_rows(crossval.cross_validate(data, run_dir, folds=opts["folds"], **common), oof)
            self.stdout.write(f"out-of-fold logits in {oof}; computing the report")
            report, logits, labels = cv_report.from_file(oof, data)
            (report_dir / "cv_report.json").write_text(json.dumps(report, indent=1, default=float) + "\n")
            (report_dir / "cv_report.md").write_text(cv_report.format_markdown(report))
            final_path = run_dir / "final-model.pt"
            if final_path.exists():
                final = torch.load(final_path, map_location="cpu", weights_only=False)
            else:
                final = crossval.train_final(data, run_dir, **common)
                torch.save(final, final_path)
            crossval.save_final(final, report, out, data, logits, labels)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(cv_report.format_markdown(report))
        self.stdout.write(self.style.SUCCESS(f"Saved {out} and its .sha256; report in {report_dir}"))

"""``python manage.py train_model --data DIR``: train, calibrate and report (see assessments.ml.training)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Train the ResNet50 on a folder with manifest.csv (path,label,subject,slice), split by subject; "
            "writes the float16 checkpoint, its .sha256 and a report (metrics.json, PNGs, split.json) "
            "in <out without .pt>/; per-epoch resumable state goes to runs/<name>/.")
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, help="folder with manifest.csv and the images")
        parser.add_argument("--epochs", type=int, default=None, help="maximum epochs (default 20)")
        parser.add_argument("--img-size", type=int, default=None, help="input side in pixels (default 80)")
        parser.add_argument("--out", default=None,
                            help="checkpoint path (default: models/alzaware-resnet50.pt)")
        parser.add_argument("--resume", action="store_true", help="continue the run from runs/<name>/last.pt")
        parser.add_argument("--time-budget", type=float, default=None,
                            help="minutes for the training loop (default 35; the schedule shrinks to fit)")
        parser.add_argument("--inner-val", type=float, default=None,
                            help="fraction of training subjects for early stopping (default 0.2; 0: none, keep the last epoch)")
        parser.add_argument("--run-dir", default=None, help="per-epoch state (default runs/<name>)")
        parser.add_argument("--threads", type=int, default=2)
        parser.add_argument("--device", default="auto",
                            help="cpu, cuda, or auto (default: the GPU when there is one)")

    def handle(self, *args, **opts):
        from assessments.ml.training import train

        data = Path(opts["data"])
        if not data.is_dir():
            raise CommandError(f"{data} is not a folder")
        out = Path(opts["out"] or Path(settings.BASE_DIR) / "models" / "alzaware-resnet50.pt")
        try:
            report = train(data, out, epochs=opts["epochs"], img_size=opts["img_size"], resume=opts["resume"],
                           run_dir=opts["run_dir"], threads=opts["threads"],
                           time_budget_min=opts["time_budget"],
                           inner_val_fraction=opts["inner_val"], device=opts["device"],
                           log=lambda m: self.stdout.write(m))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        held = report["held_out"]
        for name, m in (("model", held["model"]), ("linear baseline", held["linear_baseline"])):
            self.stdout.write(f"held-out {name}: balanced accuracy {m['balanced_accuracy']:.3f}, "
                              f"subject accuracy {m['subject_accuracy']:.3f}")
        cal = report["calibration"]
        self.stdout.write(f"ECE before {cal['ece_before']:.3f}, after (cross-fitted) "
                          f"{cal['ece_after_cross_fitted']:.3f}, T={cal['temperature']:.3f}")

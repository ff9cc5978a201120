from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from assessments.ml.ood_fitting import fit_into_checkpoint


class Command(BaseCommand):
    help = ("Fit the 'is this a brain MRI slice like the training ones?' detector on the training subjects' "
            "slices, set its thresholds on the validation subjects' slices, measure it on the bad-input corpus "
            "and save it in the checkpoint (key 'ood') with a new .sha256. Safe to rerun.")
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, help="folder with manifest.csv (path,label,subject,slice)")
        parser.add_argument("--model", default=None, help="checkpoint to update (default: ALZAWARE_MODEL_PATH)")
        parser.add_argument("--train-stride", type=int, default=2,
                            help="use every Nth training slice (neighbouring slices are near copies)")
        parser.add_argument("--cache-dir", default="runs/ood-features",
                            help="where features are cached by model weights; '' for none")
        parser.add_argument("--no-measure", action="store_true", help="skip measuring on the bad-input corpus")

    def handle(self, *args, data, model, train_stride, cache_dir, no_measure, **options):
        path = model or settings.ALZAWARE_MODEL_PATH
        measure = None
        if not no_measure:
            from tools.measure_ood import measure
        try:
            detector = fit_into_checkpoint(path, data, train_stride=train_stride, cache_dir=cache_dir or None,
                                           measure=measure, log=self.stdout.write)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        info = detector.info
        self.stdout.write(
            f"unsure above {detector.unsure_above:.2f}, refused above {detector.refuse_above:.2f}; "
            f"validation slices passing {info['validation_pass_rate']:.2%} "
            f"(unmarked {info['validation_clean_rate']:.2%}) of {info['validation_slices']}"
        )
        if "validation_variant_pass_rate" in info:
            self.stdout.write(f"other-scanner variants of validation slices passing "
                              f"{info['validation_variant_pass_rate']:.2%} of {info['validation_variants']}")
        for name, value in (info.get("measured") or {}).items():
            self.stdout.write(f"{name}: {value}")
        self.stdout.write(self.style.SUCCESS(f"Saved the detector in {path} and its .sha256"))

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
        parser.add_argument("--no-real-variety", action="store_true",
                            help="set the refusal threshold without tools/real_variety.py's bench of real brains")

    def handle(self, *args, data, model, train_stride, cache_dir, no_measure, no_real_variety, **options):
        path = model or settings.ALZAWARE_MODEL_PATH
        measure = None
        if not no_measure:
            from tools.measure_ood import measure
        real_brains = []
        if not no_real_variety:
            from tools.real_variety import bench_slices

            # Both resolutions: the 1 mm bench reaches other slices of the band than the 2 mm one.
            real_brains = bench_slices(resolution=1) + bench_slices(resolution=2)
            self.stdout.write(f"{len(real_brains)} slices of real brains from other pipelines (tools/real_variety.py)")
        try:
            detector = fit_into_checkpoint(path, data, train_stride=train_stride, cache_dir=cache_dir or None,
                                           measure=measure, real_brains=real_brains, log=self.stdout.write)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        info = detector.info
        self.stdout.write(
            f"unsure above {detector.unsure_above:.2f}, refused above {detector.refuse_above:.2f}; "
            f"validation slices passing {info['validation_pass_rate']:.2%} "
            f"(unmarked {info['validation_clean_rate']:.2%}) of {info['validation_slices']}"
        )
        if "real_variety_pass_rate" in info:
            self.stdout.write(f"real brains from other pipelines passing {info['real_variety_pass_rate']:.2%} "
                              f"(unmarked {info['real_variety_clean_rate']:.2%}) of {info['real_variety_slices']}")
        if "validation_variant_pass_rate" in info:
            self.stdout.write(f"other-scanner variants of validation slices passing "
                              f"{info['validation_variant_pass_rate']:.2%} of {info['validation_variants']}")
        for name, value in (info.get("measured") or {}).items():
            self.stdout.write(f"{name}: {value}")
        self.stdout.write(self.style.SUCCESS(f"Saved the detector in {path} and its .sha256"))

"""``python -m training fit_ood``: fit the out-of-distribution detector into a checkpoint."""

from .registry import CommandError, command, default_model


@command("fit_ood", "Fit the 'is this a brain MRI slice like the training ones?' detector on the training subjects' "
         "slices, set its thresholds on the validation subjects' slices, measure it on the bad-input corpus and save "
         "it in the checkpoint (key 'ood') with a new .sha256. Safe to rerun.")
def fit_ood_arguments(parser):
    parser.add_argument("--data", required=True, help="folder with manifest.csv (path,label,subject,slice)")
    parser.add_argument("--model", default=None, help="checkpoint to update (default: ALZAWARE_MODEL_PATH)")
    parser.add_argument("--train-stride", type=int, default=2,
                        help="use every Nth training slice (neighbouring slices are near copies)")
    parser.add_argument("--cache-dir", default="runs/ood-features",
                        help="where features are cached by model weights; '' for none")
    parser.add_argument("--no-measure", action="store_true", help="skip measuring on the bad-input corpus")
    parser.add_argument("--no-real-variety", action="store_true",
                        help="set the refusal threshold without the bench of real brains (tests.fixtures.real_variety)")
    parser.set_defaults(run=fit_ood)


def fit_ood(opts, say):
    from .ood_fitting import fit_into_checkpoint

    path = opts.model or default_model()
    measure = None
    if not opts.no_measure:
        from .measure_ood import measure
    real_brains = []
    if not opts.no_real_variety:
        from tests.fixtures.real_variety import bench_slices

        # Both resolutions: the 1 mm bench reaches other slices of the band than the 2 mm one.
        real_brains = bench_slices(resolution=1) + bench_slices(resolution=2)
        say(f"{len(real_brains)} slices of real brains from other pipelines (tests.fixtures.real_variety)")
    try:
        detector = fit_into_checkpoint(path, opts.data, train_stride=opts.train_stride,
                                       cache_dir=opts.cache_dir or None, measure=measure, real_brains=real_brains,
                                       log=say)
    except (OSError, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    report(detector, say)
    say(f"Saved the detector in {path} and its .sha256")


def report(detector, say):
    info = detector.info
    say(f"unsure above {detector.unsure_above:.2f}, refused above {detector.refuse_above:.2f}; "
        f"validation slices passing {info['validation_pass_rate']:.2%} "
        f"(unmarked {info['validation_clean_rate']:.2%}) of {info['validation_slices']}")
    if "real_variety_pass_rate" in info:
        say(f"real brains from other pipelines passing {info['real_variety_pass_rate']:.2%} "
            f"(unmarked {info['real_variety_clean_rate']:.2%}) of {info['real_variety_slices']}")
    if "validation_variant_pass_rate" in info:
        say(f"other-scanner variants of validation slices passing "
            f"{info['validation_variant_pass_rate']:.2%} of {info['validation_variants']}")
    for name, value in (info.get("measured") or {}).items():
        say(f"{name}: {value}")

"""The commands of ``python -m training``, each an argument list and a run function (see training.cli)."""

import json
from pathlib import Path

from .registry import CommandError, command, default_model

QUICK_RECIPE = {"img_size": 32, "epochs": 1, "warmup_epochs": 1, "batch_size": 16}


@command("cross_validate", "Grouped, class-stratified K-fold cross-validation over every subject, calibration and "
         "figures from the out-of-fold logits, then the final model on every subject (training.crossval). "
         "Resumable: rerun the same command after an interruption.")
def cross_validate_arguments(parser):
    parser.add_argument("--data", required=True, help="folder with manifest.csv and the images")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", default=None, help="checkpoint to write (default models/alzaware-resnet50.pt)")
    parser.add_argument("--run-dir", default="runs/cv", help="resumable training state (default runs/cv)")
    parser.add_argument("--report-dir", default=None, help="out-of-fold logits and report (default: <out without .pt>/)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto", help="cpu, cuda, or auto")
    parser.add_argument("--quick", action="store_true", help="smoke run: 12 subjects, 32 px, 1 epoch")
    parser.set_defaults(run=cross_validate)


def cross_validate(opts, say):
    import torch

    from . import crossval
    from . import report as cv_report

    data = Path(opts.data)
    if not data.is_dir():
        raise CommandError(f"{data} is not a folder")
    from mri import SHIPPED_MODEL

    out = Path(opts.out or SHIPPED_MODEL)
    report_dir = Path(opts.report_dir or out.with_suffix(""))
    report_dir.mkdir(parents=True, exist_ok=True)
    run_dir = Path(opts.run_dir)
    common = {"recipe": QUICK_RECIPE if opts.quick else None, "threads": opts.threads, "device": opts.device,
              "log": say, "subjects_limit": 12 if opts.quick else None}
    oof = report_dir / "oof_logits.csv"
    try:
        crossval.write_rows(crossval.cross_validate(data, run_dir, folds=opts.folds, **common), oof)
        say(f"out-of-fold logits in {oof}; computing the report")
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
    say(cv_report.format_markdown(report))
    say(f"Saved {out} and its .sha256; report in {report_dir}")


@command("cv_report", "Recompute the calibration choice, the four-class and any-impairment figures with their "
         "intervals from oof_logits.csv (training.report); with --data the linear baseline too.")
def cv_report_arguments(parser):
    from mri import SHIPPED_MODEL

    parser.add_argument("--oof", default=str(SHIPPED_MODEL.with_suffix("") / "oof_logits.csv"))
    parser.add_argument("--data", default=None, help="the training folder: refits the linear baseline on the same folds")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    parser.set_defaults(run=cv_report)


def cv_report(opts, say):
    from . import report as cv_report

    if not Path(opts.oof).exists():
        raise CommandError(f"{opts.oof} does not exist")
    try:
        report, _, _ = cv_report.from_file(opts.oof, Path(opts.data) if opts.data else None)
    except (KeyError, ValueError) as exc:
        raise CommandError(f"cannot read {opts.oof}: {exc}") from exc
    say(json.dumps(report, default=float) if opts.json else cv_report.format_markdown(report))


@command("evaluate_model", "Evaluate the app's checkpoint (or --model) on a folder of <class name>/<images>, "
         "optionally with manifest.csv (path,label,subject,slice). Classes absent from the folder are left out of "
         "the averages; subject accuracy uses each subject's mean slice probability. Where the folder holds the "
         "checkpoint's training subjects, the linear baseline is fitted on them and measured on the same slices.")
def evaluate_model_arguments(parser):
    parser.add_argument("--data", required=True, help="folder of <class name>/<images> or with manifest.csv")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--model", default=None, help="checkpoint (default: ALZAWARE_MODEL_PATH or the shipped one)")
    parser.add_argument("--subjects", default=None,
                        help="only these subjects: a split.json (its 'val' list) or a text file, one per line")
    parser.add_argument("--held-out", action="store_true",
                        help="only the validation subjects recorded in the checkpoint's metadata")
    parser.add_argument("--no-baseline", action="store_true", help="skip the linear baseline")
    parser.add_argument("--threads", type=int, default=2)
    parser.set_defaults(run=evaluate_model)


def evaluate_model(opts, say):
    from mri.inference.checkpoint import CheckpointError

    from .evaluation import evaluate, format_report, read_subject_list

    data = Path(opts.data)
    if not data.is_dir():
        raise CommandError(f"{data} is not a folder")
    model = Path(opts.model or default_model())
    subjects = read_subject_list(opts.subjects) if opts.subjects else None
    try:
        report = evaluate(model, data, subjects=subjects, held_out=opts.held_out, baseline=not opts.no_baseline,
                          threads=opts.threads)
    except (CheckpointError, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    if opts.json:
        say(json.dumps(report))
    else:
        say(f"model: {model}" + ("" if report["trained"] else "  (UNTRAINED)"))
        say(format_report(report))


@command("make_untrained_model", "Write a randomly initialised ResNet50 checkpoint (metadata trained=False): a test "
         "fixture, and a way to try the app without the trained model. Every result it gives says it is untrained.")
def make_untrained_model_arguments(parser):
    parser.add_argument("--out", required=True, help="where to write it (tests make one in a temporary folder)")
    parser.add_argument("--input-size", type=int, default=224)
    parser.set_defaults(run=make_untrained_model)


def make_untrained_model(opts, say):
    import torch

    from mri.inference.checkpoint import build_model, save_checkpoint
    from mri.inference.preprocess import DEFAULT_PREPROCESSING

    torch.manual_seed(0)
    model = build_model()
    # A random head is wildly over-confident; shrinking it keeps the stand-in's
    # probabilities near a uniform 25% while its Grad-CAM maps stay non-zero.
    with torch.no_grad():
        model.fc.weight.mul_(1e-3)
        model.fc.bias.zero_()
    path = save_checkpoint(model, opts.out, input_size=opts.input_size, preprocessing=DEFAULT_PREPROCESSING,
                           metadata={"trained": False, "description": "randomly initialised stand-in, not trained"})
    say(f"Wrote untrained stand-in model {path}")


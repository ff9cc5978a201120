"""Which inference engines may serve the checkpoint: the engine gate (fidelity to eager float32) and speed.

    .venv/bin/python -m benchmarks.engine_gate [--data ../shared/data/alzheimer-mri] [--repeat 60] [--write]

Every engine that can run here (eager float32 in channels_last, eager contiguous,
frozen TorchScript, bf16 autocast where the CPU has avx512_bf16/amx_bf16, ONNX
Runtime float32, ONNX Runtime int8) is compared with eager float32 on:

- every slice of the checkpoint's held-out subjects (its recorded validation split,
  never trained on) in the training data folder, and
- axial, coronal and sagittal slices of the MNI152 template (nilearn ships it),

and timed on one slice, interleaved in shuffled order within each repeat (median
of ``--repeat``). The int8 model is quantised first, its activation ranges
calibrated on slices of training subjects only. The table is printed in markdown;
``--write`` also writes it, with the figures, to ``models/<name>/engines.{md,json}``,
which is what the app reads at start to serve the fastest engine that passed.
"""

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

from benchmarks import engine_bench
from mri import SHIPPED_MODEL
from mri.inference import engine_choice, onnx_model
from mri.inference.checkpoint import expected_sha256, load_checkpoint, recorded_split
from mri.inference.engine import explanation_for
from mri.inference.engines import BF16_FLAGS, cpu_flags
from tests.fixtures import scan_files
from training.data import load_records, read_gray
from training.registry import default_model

DEFAULT_DATA = SHIPPED_MODEL.parent.parent.parent / "shared" / "data" / "alzheimer-mri"
CALIBRATION_SLICES = 64


def held_out_slices(data_dir, metadata):
    """Every slice of the checkpoint's validation subjects, and ``CALIBRATION_SLICES`` of its training subjects."""
    train, held_out = recorded_split(metadata)
    records = load_records(data_dir)
    test = [read_gray(r["path"]) for r in records if r["subject"] in held_out]
    # Middle slices (most brain) of as many training subjects as possible, for int8 calibration only.
    candidates = [r for r in records if r["subject"] in train and 8 <= (r["slice"] or 0) <= 24]
    step = max(len(candidates) // CALIBRATION_SLICES, 1)
    calibration = [read_gray(r["path"]) for r in candidates[::step][:CALIBRATION_SLICES]]
    return test, sorted(held_out), calibration


def mni_slices():
    axial = [scan_files.mni_axial(offset) for offset in range(-40, 41, 4)]
    others = [scan_files.mni_coronal(o) for o in range(-30, 31, 10)] + [scan_files.mni_sagittal(o) for o in
                                                                        range(-30, 31, 10)]
    return axial + others


def make_int8(engine_for_prepare, path, calibration):
    tensors = [engine_for_prepare.prepare(g)[0][None].numpy() for g in calibration]
    return onnx_model.quantize_int8(path, tensors)


def measure(path, data_dir, repeat, warmup):
    model, checkpoint = load_checkpoint(path)
    test, subjects, calibration = held_out_slices(data_dir, checkpoint.get("metadata") or {})
    if not onnx_model.is_current(path):
        onnx_model.export(load_checkpoint(path)[0], path, int(checkpoint["input_size"]), explanation_for(checkpoint))
    reference, _ = engine_bench.engines_for(model, checkpoint, path, names=(engine_choice.EAGER,))
    make_int8(reference[engine_choice.EAGER], path, calibration)
    engines, unavailable = engine_bench.engines_for(model, checkpoint, path)
    sets = {f"held-out ({len(subjects)} subjects)": test, "MNI152 template": mni_slices()}
    figures = engine_bench.gate(engines, sets)
    x = engines[engine_choice.EAGER].prepare(test[len(test) // 2])[0][None]
    times = engine_bench.timings(engines, x, warmup, repeat)
    rows = []
    for name in engine_choice.names():
        if name in unavailable:
            rows.append({"name": name, "available": False, "why": unavailable[name], "passed": False})
            continue
        median, ratio = times[name]
        rows.append({"name": name, "available": True, "median_ms": median, "ratio_to_eager": ratio,
                     "fidelity": figures[name], "passed": all(engine_bench.passes(f) for f in figures[name].values())})
    load = os.getloadavg()
    return {
        "checkpoint": Path(path).name, "checkpoint_sha256": expected_sha256(path),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "input_size": int(checkpoint["input_size"]), "repeat": repeat, "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(), "load_average": [round(v, 2) for v in load],
        "bf16_flags": sorted(BF16_FLAGS & cpu_flags()), "torch": torch.__version__, "onnxruntime": ort_version(),
        "gate": engine_bench.GATE, "held_out_subjects": subjects, "engines": rows,
    }


def ort_version():
    import onnxruntime

    return onnxruntime.__version__


def markdown(report):
    load = " / ".join(f"{v:.2f}" for v in report["load_average"])
    lines = [
        f"Measured {report['date']}: `{report['checkpoint']}` ({report['checkpoint_sha256'][:12]}), "
        f"{report['input_size']}×{report['input_size']} input, one slice per run, median of {report['repeat']} "
        f"interleaved runs, {report['threads']} threads on {report['cpus']} CPUs, load average {load}; "
        f"torch {report['torch']}, onnxruntime {report['onnxruntime']}; "
        f"bf16 CPU flags: {', '.join(report['bf16_flags']) or 'none'}.",
        "",
        "Gate against eager float32, on each set: top-1 agreement ≥ 99%, mean |Δp| ≤ 1 point, "
        "predicted-class map (the default explanation method's) r ≥ 0.99 on every slice.",
        "",
        "| engine | slices | median ms | × eager, paired | top-1 agreement | mean \\|Δp\\| (points) "
        "| max \\|Δp\\| (points) | map r min / mean | passed |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in report["engines"]:
        if not row["available"]:
            lines.append(f"| {row['name']} | not run here: {row['why']} | | | | | | | no |")
            continue
        # Reports written before the figures were called fidelity keep them under "agreement".
        for set_name, f in row.get("fidelity", row.get("agreement", {})).items():
            lines.append(
                f"| {row['name']} | {set_name}, {f['slices']} | {row['median_ms']:.1f} | {row['ratio_to_eager']:.2f}× "
                f"| {f['top1_agreement'] * 100:.1f}% | {f['mean_abs_probability_difference'] * 100:.2g} "
                f"| {f['max_abs_probability_difference'] * 100:.2g} | {f['map_r_min']:.5f} / {f['map_r_mean']:.5f} "
                f"| {'yes' if row['passed'] else 'no'} |")
    served = engine_choice.passed_fastest_first_of(report)
    lines += ["", f"Served (fastest that passed and runs here): **{served[0] if served else 'eager'}**."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(default_model()))
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="training data folder with manifest.csv")
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="write models/<name>/engines.{md,json}")
    args = parser.parse_args(argv)
    if not (Path(args.data) / "manifest.csv").exists():
        parser.error(f"no manifest.csv in {args.data}: the gate needs the training data's held-out subjects")
    report = measure(args.model, args.data, args.repeat, args.warmup)
    text = markdown(report)
    print(text)
    if args.write:
        target = engine_choice.report_path(args.model)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(report, indent=2) + "\n")
        target.with_suffix(".md").write_text("# Inference engines: the gate (fidelity to eager float32) and speed\n\n" + text)
        print(f"wrote {target} and {target.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())

"""How stable the model's answers are when the scan comes from another pipeline (issue 9).

    python -m training.robustness --data ../shared/data/alzheimer-mri [--run-dir runs/cv] [--out FILE]

1. Held-out slices: each fold's model (kept by ``python -m training cross_validate`` in
   ``runs/cv/fold-K-state.pt``) grades its own test subjects' slices, then the
   same slices as another scanner or pipeline might give them (softer or
   sharper, 2-3 mm resolution, other contrast, noise, slight tilt and scale:
   ``ood_fitting.acquisition_variant``). Reported: top-1 agreement and the mean
   change of the probabilities (half the L1 distance, 0..1).
2. The MNI152 template (nilearn) through the shipped model, axial band at 1 mm
   and 2 mm: the grade at each height, and agreement between the resolutions.

Every prediction goes through the app's own engine (crop, normalisation, calibration).
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from mri import CLASSES
from mri.inference.checkpoint import build_model, load_checkpoint
from mri.inference.engine import Engine
from tests.fixtures import scan_files
from training.crossval import read_rows
from training.data import read_gray
from training.ood_fitting import acquisition_variant


def fold_engine(state_path, shipped):
    """A fold's kept (early-stopped EMA) weights with the shipped model's preprocessing and calibration."""
    state = torch.load(state_path, map_location="cpu", weights_only=False)
    model = build_model()
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state["best"]["state"].items()})
    model.eval()
    return Engine(model, {k: v for k, v in shipped.items() if k != "state_dict"})


def probabilities(engine, grays, batch=64):
    out = []
    for start in range(0, len(grays), batch):
        out += [a.probabilities for a in engine.analyse_many(grays[start:start + batch])]
    return np.asarray(out)


def stability(before, after):
    return {"top1_agreement": float((before.argmax(1) == after.argmax(1)).mean()),
            "mean_probability_change": float(0.5 * np.abs(before - after).sum(1).mean()),
            "slices": int(len(before))}


def held_out_variants(data_dir, oof_path, run_dir, shipped, stride, seed=0):
    _, _, _, folds, paths = read_rows(oof_path)
    rng = np.random.default_rng(seed)
    before, after = [], []
    for k in sorted(set(folds.tolist())):
        engine = fold_engine(Path(run_dir) / f"fold-{k}-state.pt", shipped)
        grays = [read_gray(Path(data_dir) / p) for p, f in zip(paths, folds) if f == k][::stride]
        before.append(probabilities(engine, grays))
        after.append(probabilities(engine, [acquisition_variant(g, rng) for g in grays]))
    return stability(np.concatenate(before), np.concatenate(after))


def template_band(engine, heights_mm=range(-10, 31, 5)):
    """The template's axial slices from 10 mm below to 30 mm above its middle, at 1 mm and 2 mm."""
    grades = {}
    for resolution in (1, 2):
        grays = [scan_files.mni_axial(h // resolution, resolution) for h in heights_mm]
        grades[resolution] = probabilities(engine, grays)
    return {"heights_mm": list(heights_mm),
            "grade_1mm": [CLASSES[i] for i in grades[1].argmax(1)],
            "grade_2mm": [CLASSES[i] for i in grades[2].argmax(1)],
            "any_impairment_1mm": [round(1 - float(p[0]), 3) for p in grades[1]],
            "any_impairment_2mm": [round(1 - float(p[0]), 3) for p in grades[2]],
            "1mm_vs_2mm": stability(grades[1], grades[2])}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", default="models/alzaware-resnet50.pt")
    ap.add_argument("--run-dir", default="runs/cv")
    ap.add_argument("--oof", default="models/alzaware-resnet50/oof_logits.csv")
    ap.add_argument("--stride", type=int, default=4, help="every Nth held-out slice (neighbours are near copies)")
    ap.add_argument("--out", default="models/alzaware-resnet50/robustness.json")
    args = ap.parse_args()
    torch.set_num_threads(2)
    model, shipped = load_checkpoint(args.model)
    report = {"held_out_slices_vs_other_pipeline_variants":
              held_out_variants(args.data, args.oof, args.run_dir, shipped, args.stride),
              "mni152_template_band": template_band(Engine(model, shipped))}
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

"""Is the heatmap on the brain, and does it still point at what the model uses?

    python -m training.heatmap_study --data ../shared/data/alzheimer-mri [--per-person 8] [--skip-positions 2,...]
        [--choice] [--explanation shift-and-stitch]

On slices of the people the shipped model never trained on (its inner-validation people, recorded in the
checkpoint), through the app's own engine: the share of the predicted class's map weight inside the app's
brain mask, as the overlay draws it on the image, and the app's deletion score (:mod:`mri.explain.faithfulness`),
for the map as the app draws it now (on the brain and its surface, ``preprocess.map_region``) and as it was drawn
before (everywhere the network looked, background included); with the map's grid and the time the engine takes
to analyse one slice. ``--choice`` takes the 4 slices a person the maps are chosen on (positions 2, 9, 16, 23 of
26, scaled to a person's slice count: 2, 9, 15, 22 of 25), none of them among the 8 a person that
``--skip-positions 2,9,15,16,22,23`` confirms on. ``--unused`` takes 8 a person of the slices neither reads.
"""

import argparse
import json
import os
import time

import numpy as np

from mri.explain import DEFAULT, explanations
from mri.explain.faithfulness import faithfulness
from mri.inference.checkpoint import load_checkpoint, recorded_split
from mri.inference.engine import Engine, explanation_for
from mri.inference.engines import Eager
from mri.inference.preprocess import brain_mask, coverage, map_to_image

from .data import load_records, read_gray


def held_out_rows(records, people, per_person, skip=()):
    """``per_person`` evenly spaced slices of each person, leaving out the slice positions in ``skip``."""
    out = []
    for person in sorted(people):
        rows = sorted((r for r in records if r["subject"] == person and r["slice"] not in skip),
                      key=lambda r: r["slice"])
        picks = np.unique(np.round(np.linspace(0, len(rows) - 1, per_person)).astype(int))
        out += [rows[i] for i in picks]
    return out


# Slices a person the confirmation (and the unused look) reads.
PER_PERSON = 8
CHOICE_POSITIONS = (2, 9, 16, 23)  # of a person's 26 slices (0..25)
# The positions the confirmation leaves out (8 a person of the others): the choice positions of a 25- or 26-slice person.
CONFIRMATION = {2, 9, 15, 16, 22, 23}


def choice_rows(records, people):
    """The 4 slices a person the maps are chosen on: :data:`CHOICE_POSITIONS`, scaled to the person's count."""
    out = []
    for person in sorted(people):
        rows = sorted((r for r in records if r["subject"] == person), key=lambda r: r["slice"])
        out += [rows[int(round(q * (len(rows) - 1) / 25))] for q in CHOICE_POSITIONS]
    return out


def weight_inside(heat, brain):
    total = float(heat.sum())
    return float(heat[brain].sum()) / total if total > 0 else float("nan")


def one_slice(engine, gray):
    start = time.perf_counter()
    analysis = engine.analyse(gray)
    milliseconds = 1000 * (time.perf_counter() - start)
    index = analysis.predicted_index
    stored = explanations.from_analysis(analysis)
    brain = brain_mask(gray)
    unconfined = map_to_image(analysis.maps[index], stored.geometry, stored.image_shape)
    before = np.where(coverage(stored.geometry, stored.image_shape), unconfined, 0.0)
    now = np.where(stored.seen(), stored.map_on_image(index), 0.0)
    old = faithfulness(engine.probabilities, analysis.tensor, analysis.maps[index], index,
                       analysis.probabilities[index])
    new = engine.faithfulness(analysis)
    return {"inside_before": weight_inside(before, brain), "inside_now": weight_inside(now, brain),
            "score_before": old.score if old else float("nan"), "score_now": new.score if new else float("nan"),
            "analyse_ms": milliseconds}


def summary(values):
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return {"median": float(np.median(v)), "mean": float(np.mean(v)), "n": int(len(v)),
            "share_at_least_0.9": float(np.mean(v >= 0.9)), "share_above_1": float(np.mean(v > 1.0))}


def slice_arguments(description):
    """The arguments of a study over the held-out slices (this module's and ``training.map_target_study``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", default="models/alzaware-resnet50.pt")
    parser.add_argument("--per-person", type=int, default=PER_PERSON)
    parser.add_argument("--skip-positions", default="", help="slice positions to leave out (comma separated)")
    parser.add_argument("--choice", action="store_true", help="the slices maps are chosen on (heatmap_study)")
    parser.add_argument("--unused", action="store_true",
                        help="PER_PERSON a person of the slices that neither the choice nor the confirmation reads")
    parser.add_argument("--json", default=None)
    return parser


def study_rows(args, people):
    """The slices a study reads: the choice slices, or ``--per-person`` a person without ``--skip-positions``."""
    skip = {int(s) for s in args.skip_positions.split(",") if s}
    records = load_records(args.data)
    if args.choice:
        return choice_rows(records, people)
    if args.unused:
        return unused_rows(records, people)
    return held_out_rows(records, people, args.per_person, skip)


def unused_rows(records, people):
    """:data:`PER_PERSON` evenly spaced slices a person of those the choice (:func:`choice_rows`) and the confirmation
    (:data:`CONFIRMATION`) do not read: a third look, at the neighbours of the slices already read."""
    used = {r["path"] for r in choice_rows(records, people) + held_out_rows(records, people, PER_PERSON, CONFIRMATION)}
    return held_out_rows([r for r in records if r["path"] not in used], people, PER_PERSON)


def report(out, path):
    """Print a study's figures, and write them to ``path`` when given."""
    print(json.dumps(out, indent=1))
    if path:
        with open(path, "w") as fh:
            json.dump(out, fh, indent=1)


def main(argv=None):
    parser = slice_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--explanation", default=None, help="explanation method (mri.explain); the app's default")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    model, checkpoint = load_checkpoint(args.model)
    engine = Engine(model, checkpoint, Eager(model, explanation=explanation_for(checkpoint, args.explanation)))
    _, people = recorded_split(dict(checkpoint.get("metadata") or {}))
    rows = study_rows(args, people)
    grays = [read_gray(r["path"]) for r in rows]
    engine.analyse(grays[0])  # warm-up, not timed
    results = [one_slice(engine, gray) for gray in grays]
    out = {"people": len(people), "slices": len(rows), "explanation": args.explanation or DEFAULT,
           "map_grid": list(engine.analyse(grays[0]).maps.shape[1:]), "load_average": list(os.getloadavg()),
           **{key: summary([r[key] for r in results]) for key in results[0]}}
    report(out, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

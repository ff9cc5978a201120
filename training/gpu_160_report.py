"""Figures of the 160-px experiment (``training.gpu_160_experiment``): per person, with bootstrap intervals
over people, beside the shipped 80-px model's out-of-fold logits of the same folds. Plain Python."""

import csv
import json
from pathlib import Path

import numpy as np

from mri import CLASSES

SHIPPED_OOF = "models/alzaware-resnet50/oof_logits.csv"
BOOTSTRAP, SEED = 2000, 20261204


def read_oof(path, size=None):
    """``{subject: (label, [slice probabilities])}`` and the slice rows (of one ``size`` when given)."""
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if size is None or int(r["size"]) == size]
    people = {}
    for r in rows:
        logits = np.array([float(r[f"logit_{j}"]) for j in range(len(CLASSES))])
        p = np.exp(logits - logits.max())
        people.setdefault(r["subject"], (CLASSES.index(r["label"]), []))[1].append(p / p.sum())
    return {s: (y, np.mean(ps, 0)) for s, (y, ps) in people.items()}, rows


def auc(scores, positive):
    """ROC AUC as the Mann-Whitney probability (ties count a half)."""
    pos, neg = scores[positive], scores[~positive]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()
    return float(greater / (len(pos) * len(neg)))


def figures(people, subjects):
    labels = np.array([people[s][0] for s in subjects])
    probs = np.stack([people[s][1] for s in subjects])
    four = labels != CLASSES.index("Moderate Impairment")  # two people: no four-class figure (as cv_report)
    return {"subject_accuracy": float((probs[four].argmax(1) == labels[four]).mean()),
            "any_impairment_auc": auc(1 - probs[:, 0], labels > 0)}


def with_intervals(models, subjects):
    """Point figures, 95% bootstrap intervals over people, and paired differences to the first model."""
    rng = np.random.default_rng(SEED)
    subjects = np.array(sorted(subjects))
    draws = {name: [] for name in models}
    for _ in range(BOOTSTRAP):
        pick = subjects[rng.integers(len(subjects), size=len(subjects))]
        for name, people in models.items():
            draws[name].append(figures(people, pick))
    first = next(iter(models))
    out = {}
    for name, people in models.items():
        entry = {}
        for key, value in figures(people, subjects).items():
            values = np.array([d[key] for d in draws[name]])
            diffs = values - np.array([d[key] for d in draws[first]])
            entry[key] = {"value": round(value, 4), "ci95": [round(float(v), 4) for v in np.nanpercentile(values, [2.5, 97.5])]}
            if name != first:
                entry[key]["minus_" + first] = {
                    "value": round(value - figures(models[first], subjects)[key], 4),
                    "ci95": [round(float(v), 4) for v in np.nanpercentile(diffs, [2.5, 97.5])]}
        out[name] = entry
    return out


def map_figures(rows):
    share, confined, unconfined = (np.array([float(r[k]) for r in rows]) for k in
                                   ("map_weight_in_brain", "deletion_confined", "deletion_unconfined"))
    def one(scores):
        scores = scores[np.isfinite(scores)]
        return {"median_x_random": round(float(np.median(scores)), 3), "share_above_1x": round(float((scores > 1).mean()), 3),
                "slices": int(len(scores))}
    return {"raw_map_weight_in_brain_mask_median": round(float(np.nanmedian(share)), 3),
            "share_of_slices_with_weight_in_brain_ge_0.9": round(float(np.nanmean(share >= 0.9)), 3),
            "deletion_confined_to_brain_and_rim": one(confined), "deletion_unconfined": one(unconfined)}


def report(oof_path, runs_path, out_dir):
    shipped, _ = read_oof(SHIPPED_OOF)
    p160, rows160 = read_oof(oof_path, 160)
    p80, rows80 = read_oof(oof_path, 80)
    models = {"shipped_80px_cpu": shipped, "gpu_80px_control": p80, "gpu_160px": p160}
    result = {
        "protocol": "5-fold cross-validation by person, the shipped model's folds (oof_logits.csv), project recipe "
                    "(training.training.DEFAULT_RECIPE) at img_size 160 and 80; a person = mean of slice softmax",
        "people": len(shipped), "bootstrap": BOOTSTRAP,
        "per_person": with_intervals(models, set(shipped)),
        "maps_on_held_out_slices": {"gpu_80px_control": map_figures(rows80), "gpu_160px": map_figures(rows160)},
        "runs": json.loads(Path(runs_path).read_text()) if runs_path else None,
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["per_person"], indent=1))
    print(json.dumps(result["maps_on_held_out_slices"], indent=1))
    return result

"""What ``evaluate_model`` adds beside the grades: the measures, the headline, the out-of-training marks and the
any-impairment estimate the app shows, each as the app computes it from the checkpoint.

A person (subject) is read as the app reads a volume: the mean of their slices' probabilities, the measures over
their band (:func:`training.measures_reference.person_values`), the combined estimate over both.
"""

import numpy as np

from mri import CLASSES, combined, measures
from mri.headline import headline, rule_from_checkpoint
from mri.inference import ood

from .data import read_gray
from .headline_rule import how_often_right
from .measures_reference import person_values
from .reading import binary_ece


def model_outputs(engine, records, batch_size=64):
    """``(probabilities, pooled features, slice measures)`` of ``records``, through the app's engine."""
    probs, features, values = [], [], []
    for start in range(0, len(records), batch_size):
        grays = [read_gray(r["path"]) for r in records[start:start + batch_size]]
        values += [measures.measure_slice(g, low=True) for g in grays]
        import torch

        logits, _, pooled = engine.run(torch.stack([engine.prepare(g)[0] for g in grays]))
        probs.append(engine.calibrated(logits).numpy().astype(np.float64))
        features.append(pooled.numpy())
    if not probs:
        return np.zeros((0, len(engine.classes))), np.zeros((0, 0)), []
    return np.concatenate(probs), np.concatenate(features), values


def _auc(y, score):
    from sklearn.metrics import roc_auc_score

    y, score = np.asarray(y), np.asarray(score, dtype=np.float64)
    keep = np.isfinite(score)
    return float(roc_auc_score(y[keep], score[keep])) if 0 < y[keep].sum() < keep.sum() else None


def outside_training(engine, features):
    detector = ood.detector_for(engine)
    if detector is None or not len(features):
        return None
    verdicts = detector.verdicts(features)
    return {"slices": len(verdicts), "marked": float(np.mean([v == ood.UNSURE for v in verdicts])),
            "refused": float(np.mean([v == ood.OUT for v in verdicts])),
            "unsure_above": detector.unsure_above, "refuse_above": detector.refuse_above}


def readings(engine, records, probs, values):
    """Per slice and per subject: ``(probabilities, any impairment shown, labels, subject names, measures)``."""
    model = combined.model_from_checkpoint(engine.checkpoint)
    lone = [{**v, "medial_temporal_csf": float("nan")} for v in values]  # a lone slice has no band
    slice_any = np.array([combined.combined_any_impairment(dict(zip(CLASSES, p)), v, model)
                          for p, v in zip(probs, lone)])
    out = {"slice": (probs, slice_any, np.array([r["label"] for r in records]), None, lone)}
    if records and all(r["subject"] is not None for r in records):
        subjects = [r["subject"] for r in records]
        band = person_values(values, subjects, [r["slice"] or 0 for r in records])
        names = sorted(band)
        index = {s: [i for i, x in enumerate(subjects) if x == s] for s in names}
        p = np.array([probs[index[s]].mean(axis=0) for s in names])
        shown = np.array([combined.combined_any_impairment(dict(zip(CLASSES, q)), band[s], model)
                          for q, s in zip(p, names)])
        labels = np.array([records[index[s][0]]["label"] for s in names])
        out["subject"] = (p, shown, labels, names, [band[s] for s in names])
    return out


def reading_figures(engine, records, probs, features, values):
    """The ``measures``, ``headline``, ``outside_training`` and ``any_impairment`` parts of the report."""
    rule = rule_from_checkpoint(engine.checkpoint)
    reference = measures.reference_from_checkpoint(engine.checkpoint)
    report = {"outside_training": outside_training(engine, features), "measures": {}, "headline": {"rule": rule},
              "any_impairment": {"combined_model": combined.model_from_checkpoint(engine.checkpoint) is not None}}
    for level, (p, shown, labels, _, vals) in readings(engine, records, probs, values).items():
        impaired = (labels != CLASSES.index("No Impairment")).astype(int)
        network = 1.0 - p[:, CLASSES.index("No Impairment")]
        report["any_impairment"][level] = {
            "shown_auc": _auc(impaired, shown), "network_auc": _auc(impaired, network),
            "shown_ece": binary_ece(shown, impaired), "network_ece": binary_ece(network, impaired),
            "n": int(len(labels))}
        said = [headline(dict(zip(CLASSES, q)), a, rule) for q, a in zip(p, shown)]
        report["headline"][level] = how_often_right(said, labels)
        for key in measures.KEYS:
            column = np.array([v[key] for v in vals], dtype=np.float64)
            report["measures"].setdefault(key, {"label": measures.BY_KEY[key].label,
                                                "reference": reference.get(key)})
            report["measures"][key][f"{level}_auc"] = _auc(impaired, column)
            report["measures"][key][f"{level}_median"] = (float(np.nanmedian(column))
                                                          if np.isfinite(column).any() else None)
    return report

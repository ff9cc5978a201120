"""Measuring a checkpoint (and the linear baseline) on a folder of labelled slices.

``python -m training evaluate_model`` is a thin wrapper around :func:`evaluate`.
Every average leaves out the classes absent from the data; subject-level
accuracy takes each subject's mean slice probability.
"""

from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import torch

from mri import CLASSES, any_impairment
from training.data import load_records, read_gray

BASELINE_SHAPE = (52, 44)  # rows, columns: the 176x208 slices divided by four
BASELINE_DESCRIPTION = ("44x52 pixels / 255 -> StandardScaler -> PCA 100 -> "
                        "LogisticRegression(class_weight='balanced'), fitted on the training subjects")


def metrics(y_true, probs, subjects=None, classes=CLASSES):
    """Slice- and subject-level figures; ``probs`` is (N, C)."""
    y_true = np.asarray(y_true, dtype=int)
    probs = np.asarray(probs, dtype=np.float64).reshape(len(y_true), len(classes))
    y_pred = probs.argmax(1) if len(y_true) else np.zeros(0, int)
    k = len(classes)
    cm = np.zeros((k, k), dtype=int)
    for t, p in zip(y_true, y_pred):
        cm[t, p] += 1
    present = [c for c in range(k) if cm[c].sum() > 0]
    recall, f1 = {}, []
    for c in range(k):
        if c not in present:
            recall[classes[c]] = None
            continue
        tp = cm[c, c]
        r = tp / cm[c].sum()
        p = tp / cm[:, c].sum() if cm[:, c].sum() else 0.0
        recall[classes[c]] = float(r)
        f1.append(0.0 if p + r == 0 else 2 * p * r / (p + r))
    out = {
        "n": int(len(y_true)),
        "accuracy": float((y_pred == y_true).mean()) if len(y_true) else None,
        "balanced_accuracy": float(np.mean([recall[classes[c]] for c in present])) if present else None,
        "macro_f1": float(np.mean(f1)) if f1 else None,
        "per_class_recall": recall,
        "confusion_matrix": cm.tolist(),
        "classes_present": [classes[c] for c in present],
        "subject_accuracy": None,
        "n_subjects": None,
    }
    if subjects is not None and len(subjects) and all(s is not None for s in subjects):
        names, means, labels = subject_means(probs, y_true, subjects)
        subject_cm = np.zeros((k, k), dtype=int)
        np.add.at(subject_cm, (labels, means.argmax(1)), 1)
        out["subject_accuracy"] = float(np.trace(subject_cm) / len(names))
        out["n_subjects"] = len(names)
        out["subject_confusion_matrix"] = subject_cm.tolist()
    return out


def ece(probs, labels, bins=15):
    """Expected calibration error of the top-label confidence, equal-width bins."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=int)
    if len(labels) == 0:
        return None
    conf = probs.max(1)
    correct = (probs.argmax(1) == labels).astype(np.float64)
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs(conf[inside].mean() - correct[inside].mean())
    return float(total)


def subject_means(probs, labels, subjects):
    """Per subject, in first-seen order: ``(subject ids, mean probabilities, label)``."""
    groups = defaultdict(list)
    for i, s in enumerate(subjects):
        groups[s].append(i)
    names = list(groups)
    means = np.stack([np.asarray(probs)[groups[s]].mean(0) for s in names])
    y = np.array([np.bincount(np.asarray(labels)[groups[s]]).argmax() for s in names])
    return names, means, y


def any_impairment_figures(labels, probs, subjects=None, threshold=0.5):
    """ROC AUC and balanced accuracy (at ``threshold``) of P(any impairment) = 1 - P(No Impairment).

    Per subject (mean probabilities) when subjects are known, else per slice;
    None where the data hold only impaired or only unimpaired people.
    """
    from sklearn.metrics import roc_auc_score

    labels, probs = np.asarray(labels, dtype=int), np.asarray(probs, dtype=np.float64)
    if subjects is not None and len(subjects) and all(s is not None for s in subjects):
        _, probs, labels = subject_means(probs, labels, subjects)
    impaired, p_any = labels != 0, any_impairment(probs) if len(labels) else np.zeros(0)
    if impaired.all() or not impaired.any():
        return {"any_impairment_auc": None, "any_impairment_balanced_accuracy": None}
    sensitivity, specificity = sensitivity_specificity(p_any >= threshold, impaired)
    return {"any_impairment_auc": float(roc_auc_score(impaired, p_any)),
            "any_impairment_balanced_accuracy": float((sensitivity + specificity) / 2),
            "any_impairment_threshold": float(threshold)}


def sensitivity_specificity(predicted, impaired):
    """Shares of the impaired called impaired, and of the unimpaired called unimpaired (boolean arrays)."""
    return float(predicted[impaired].mean()), float((~predicted[~impaired]).mean())


# ------------------------------------------------------------------ baseline

def baseline_features(records):
    return np.stack([
        cv2.resize(read_gray(r["path"]), BASELINE_SHAPE[::-1], interpolation=cv2.INTER_AREA)
        .astype(np.float32).ravel() / 255.0
        for r in records
    ])


def fit_baseline(train_records, seed=0):
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = baseline_features(train_records)
    y = np.array([r["label"] for r in train_records])
    pipe = make_pipeline(StandardScaler(), PCA(n_components=min(100, len(x) - 1, x.shape[1]),
                                                random_state=seed),
                         LogisticRegression(class_weight="balanced", max_iter=3000))
    pipe.fit(x, y)
    return pipe


def baseline_probs(pipe, records):
    raw = pipe.predict_proba(baseline_features(records))
    probs = np.zeros((len(records), len(CLASSES)))
    probs[:, pipe.classes_] = raw
    return probs


def baseline_report(train_records, test_records):
    """The linear baseline fitted on ``train_records`` and measured on ``test_records``."""
    pipe = fit_baseline(train_records)
    out = metrics([r["label"] for r in test_records], baseline_probs(pipe, test_records),
                  [r["subject"] for r in test_records])
    out["description"] = BASELINE_DESCRIPTION
    return out


# ------------------------------------------------------------------ model

def read_subject_list(path):
    """Subjects from a split.json (its ``val`` list) or a text file, one per line."""
    text = Path(path).read_text()
    if text.lstrip().startswith("{"):
        import json

        data = json.loads(text)
        return set(data.get("val") or data.get("val_subjects") or data.get("subjects") or [])
    return {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}


def evaluate(model_path, data_dir, subjects=None, held_out=False, baseline=True, threads=2):
    """Evaluate a checkpoint on ``data_dir``; returns the report dict (see evaluate_model)."""
    from mri.inference.checkpoint import load_checkpoint, recorded_split
    from mri.inference.engine import Engine

    torch.set_num_threads(threads)
    engine = Engine(*load_checkpoint(model_path))
    records = load_records(data_dir)
    train_subjects, wanted = recorded_split(engine.metadata)
    if held_out:
        if not wanted:
            raise ValueError("the checkpoint records no validation subjects")
        subjects = wanted if subjects is None else set(subjects) & wanted
    all_records = records
    if subjects is not None:
        records = [r for r in records if r["subject"] in subjects]
        if not records:
            raise ValueError("none of the requested subjects is in the data")
    from .evaluation_reading import model_outputs, reading_figures

    probs, features, values = model_outputs(engine, records)
    has_subjects = all(r["subject"] is not None for r in records)
    report = metrics([r["label"] for r in records], probs,
                     [r["subject"] for r in records] if has_subjects else None,
                     classes=engine.classes)
    report["ece"] = ece(probs, [r["label"] for r in records])
    threshold = (engine.metadata.get("cross_validation") or {}).get("any_impairment_threshold", 0.5)
    report.update(any_impairment_figures([r["label"] for r in records], probs,
                                         [r["subject"] for r in records] if has_subjects else None, threshold))
    report.update(reading_figures(engine, records, probs, features, values))
    report["temperature"] = engine.temperature
    report["model"] = str(model_path)
    report["trained"] = engine.trained
    report["linear_baseline"] = None
    if baseline and has_subjects:
        train_records = [r for r in all_records if r["subject"] in train_subjects
                         and r["subject"] not in {x["subject"] for x in records}]
        if len({r["label"] for r in train_records}) >= 2:
            report["linear_baseline"] = baseline_report(train_records, records)
    return report


def format_report(report, classes=CLASSES):
    """A human-readable text version of :func:`evaluate`'s report."""
    def f(v):
        return "n/a" if v is None else f"{v:.3f}"

    lines = [f"slices: {report['n']}" + (f", subjects: {report['n_subjects']}" if report.get("n_subjects") else "")]
    base = report.get("linear_baseline")
    rows = [("accuracy", "accuracy"), ("balanced accuracy", "balanced_accuracy"),
            ("macro-F1", "macro_f1"), ("subject accuracy", "subject_accuracy")]
    lines.append(f"{'':22}{'model':>8}" + (f"{'linear baseline':>18}" if base else ""))
    for label, key in rows:
        lines.append(f"{label:22}{f(report[key]):>8}" + (f"{f(base[key]):>18}" if base else ""))
    lines.append("per-class recall:")
    for name in classes:
        r = report["per_class_recall"].get(name)
        b = base["per_class_recall"].get(name) if base else None
        lines.append(f"  {name:20}{f(r):>8}" + (f"{f(b):>18}" if base else "")
                     + ("  (absent: left out of averages)" if r is None else ""))
    lines.append("confusion matrix (rows: true, columns: predicted; order " + ", ".join(classes) + "):")
    for name, row in zip(classes, report["confusion_matrix"]):
        lines.append(f"  {name:20}" + "".join(f"{v:>6}" for v in row))
    if report.get("any_impairment_auc") is not None:
        lines.append(f"any impairment: ROC AUC {f(report['any_impairment_auc'])}, balanced accuracy "
                     f"{f(report['any_impairment_balanced_accuracy'])} at P >= {report['any_impairment_threshold']:.2f}"
                     + (" (per subject)" if report.get("n_subjects") else " (per slice)"))
    if report.get("ece") is not None:
        lines.append(f"ECE (15 bins, slices, calibrated): {report['ece']:.3f}")
    if base:
        lines.append("baseline: " + base["description"])
    return "\n".join(lines)

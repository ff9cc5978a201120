"""Every published figure of the model, recomputed from the saved out-of-fold logits.

``python -m training cv_report`` is a thin wrapper. Given ``oof_logits.csv`` (one
row per slice: its subject, label, the logits of a model that never saw that
person, and the fold) this module

* chooses the calibration by a nested check (fit on the other folds, measure on
  this one) and reports ECE (15 bins) before and after, per slice and per subject;
* gives the four-class figures of the calibrated out-of-fold predictions with
  95% bootstrap intervals over subjects, beside the linear baseline and the
  "always No Impairment" rule on the same folds;
* gives the any-impairment figures (P = 1 - P(No Impairment), per subject), with a
  threshold chosen on the other folds for each fold.

All probabilities reported are cross-fitted: a fold's slices are calibrated by a
fit on the other folds, as a new person's scan would be.
"""

from collections import defaultdict

import numpy as np

from mri import CLASSES, any_impairment
from mri.inference import calibration
from training.evaluation import ece, metrics, sensitivity_specificity, subject_means

BOOTSTRAP = 1000
INTERVAL_KEYS = ("accuracy", "balanced_accuracy", "macro_f1", "subject_accuracy")


def bootstrap(statistic, subjects, seed=0, n=BOOTSTRAP):
    """95% intervals (2.5th, 97.5th percentiles) of each value of ``statistic(index array, subject ids)``.

    ``statistic`` returns a dict of numbers (None where undefined); subjects are
    resampled with replacement, and a person drawn twice gets two ids so that
    they count twice.
    """
    groups = defaultdict(list)
    for i, s in enumerate(subjects):
        groups[s].append(i)
    names = sorted(groups)
    rng = np.random.default_rng(seed)
    values = defaultdict(list)
    for _ in range(n):
        drawn = rng.integers(0, len(names), len(names))
        idx = np.concatenate([groups[names[j]] for j in drawn])
        ids = [f"{names[j]}#{k}" for k, j in enumerate(drawn) for _ in groups[names[j]]]
        for key, value in statistic(idx, ids).items():
            if value is not None:
                values[key].append(value)
    return {key: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for key, v in values.items()}


def four_class(labels, probs, subjects, seed=0):
    """:func:`evaluation.metrics` plus 95% intervals over subjects for the headline figures and recalls."""
    labels, probs = np.asarray(labels), np.asarray(probs)
    out = metrics(labels, probs, subjects)

    def headline(idx, ids):
        m = metrics(labels[idx], probs[idx], ids)
        return {**{key: m[key] for key in INTERVAL_KEYS},
                **{f"recall {name}": m["per_class_recall"][name] for name in out["classes_present"]}}

    out["intervals"] = bootstrap(headline, subjects, seed)
    return out


def best_threshold(p_any, impaired):
    """The threshold on P(any impairment) with the highest balanced accuracy (midpoints between scores)."""
    candidates = np.unique(p_any)
    cuts = np.concatenate([[0.0], (candidates[:-1] + candidates[1:]) / 2, [1.0]])

    def balanced(t):
        return sum(sensitivity_specificity(p_any >= t, impaired)) / 2

    return float(max(cuts, key=balanced))


def any_impairment_figures_out_of_fold(labels, probs, subjects, folds, seed=0):
    """How well P(any impairment) (``mri.any_impairment``) finds impaired people: subject-level ROC AUC, and balanced accuracy, sensitivity, specificity at out-of-fold thresholds."""
    from sklearn.metrics import roc_auc_score

    names, means, y = subject_means(probs, labels, subjects)
    fold_of = {s: f for s, f in zip(subjects, folds)}
    sfold = np.array([fold_of[s] for s in names])
    p_any, impaired = any_impairment(means), y != CLASSES.index("No Impairment")
    predicted = np.zeros(len(names), dtype=bool)
    thresholds = {}
    for k in np.unique(sfold):
        t = best_threshold(p_any[sfold != k], impaired[sfold != k])
        thresholds[int(k)] = t
        predicted[sfold == k] = p_any[sfold == k] >= t

    def figures(i):
        imp = impaired[i]
        if imp.all() or (~imp).all():
            return None
        sens, spec = sensitivity_specificity(predicted[i], imp)
        return {"auc": roc_auc_score(imp, p_any[i]), "sensitivity": sens, "specificity": spec,
                "balanced_accuracy": (sens + spec) / 2}

    out = {k: float(v) for k, v in figures(np.arange(len(names))).items()}
    rng = np.random.default_rng(seed)
    draws = [figures(rng.integers(0, len(names), len(names))) for _ in range(BOOTSTRAP)]
    draws = [d for d in draws if d]
    out["intervals"] = {k: [float(np.percentile([d[k] for d in draws], q)) for q in (2.5, 97.5)] for k in out}
    out.update(subjects=len(names), impaired_subjects=int(impaired.sum()), fold_thresholds=thresholds,
               threshold=best_threshold(p_any, impaired),
               slice_auc=float(roc_auc_score(np.asarray(labels) != 0, any_impairment(probs))))
    return out


def calibration_report(labels, logits, subjects, folds):
    """ECE before and after each calibration (cross-fitted), per slice and per subject; the choice."""
    labels = np.asarray(labels)
    raw = calibration.apply({"scale": [1.0] * logits.shape[1], "bias": [0.0] * logits.shape[1]}, logits)
    out = {"bins": 15, "before": _eces(raw, labels, subjects), "after": {}}
    probs = {}
    for kind in calibration.KINDS:
        probs[kind] = calibration.cross_fitted(kind, logits, labels, folds)
        out["after"][kind] = _eces(probs[kind], labels, subjects)
    # The rule, fixed in advance: vector scaling only where it lowers the cross-fitted slice ECE.
    chosen = min(calibration.KINDS, key=lambda k: (out["after"][k]["slice"], calibration.KINDS.index(k)))
    out["chosen"] = chosen
    out["fitted"] = calibration.fit(chosen, logits, labels)
    return out, probs[chosen]


def _eces(probs, labels, subjects):
    _, means, y = subject_means(probs, labels, subjects)
    return {"slice": ece(probs, labels), "subject": ece(means, y)}


def build(labels, logits, subjects, folds, baseline_probs=None, min_subjects=3):
    """The whole report (plain data) from the out-of-fold logits.

    A class with fewer than ``min_subjects`` people (Moderate Impairment has two)
    has no honest estimate: its people count in the calibration and in "any
    impairment", and their grades are listed, but they are left out of the
    four-class figures, which would otherwise swing with two people.
    """
    labels, logits, folds = np.asarray(labels), np.asarray(logits, dtype=np.float64), np.asarray(folds)
    subjects = list(subjects)
    cal, probs = calibration_report(labels, logits, subjects, folds)
    names, means, y = subject_means(probs, labels, subjects)
    people = {c: sorted(set(np.asarray(subjects)[labels == c])) for c in range(len(CLASSES))}
    rare = [c for c in range(len(CLASSES)) if 0 < len(people[c]) < min_subjects]
    graded = ~np.isin(labels, rare)
    kept = [s for s, g in zip(subjects, graded) if g]
    always_no = np.tile(np.eye(len(CLASSES))[CLASSES.index("No Impairment")], (len(labels), 1))
    report = {
        "slices": int(graded.sum()), "subjects": len(set(kept)), "folds": int(len(np.unique(folds))),
        "calibration": cal,
        "model": four_class(labels[graded], probs[graded], kept),
        "always_no_impairment": four_class(labels[graded], always_no[graded], kept),
        "any_impairment": any_impairment_figures_out_of_fold(labels, probs, subjects, folds),
        "left_out_of_four_class_figures": {
            CLASSES[c]: {s: CLASSES[int(means[names.index(s)].argmax())] for s in people[c]} for c in rare},
    }
    if baseline_probs is not None:
        report["linear_baseline"] = four_class(labels[graded], np.asarray(baseline_probs)[graded], kept)
        report["linear_baseline_any_impairment"] = any_impairment_figures_out_of_fold(labels, baseline_probs,
                                                                                     subjects, folds)
    return report


def baseline_out_of_fold(records, folds):
    """The linear baseline's probabilities for ``records``, each fold predicted by a fit on the others."""
    from training.evaluation import baseline_probs, fit_baseline

    folds = np.asarray(folds)
    probs = np.zeros((len(records), len(CLASSES)))
    for k in np.unique(folds):
        pipe = fit_baseline([r for r, f in zip(records, folds) if f != k])
        test = np.flatnonzero(folds == k)
        probs[test] = baseline_probs(pipe, [records[i] for i in test])
    return probs


def format_markdown(report):
    """The model card's tables, from :func:`build`'s report."""
    def f(v):
        return "n/a" if v is None else f"{v:.3f}"

    def cell(m, key):
        ci = m["intervals"].get(key)
        value = m[key] if key in m else m["per_class_recall"].get(key.removeprefix("recall "))
        return f(value) + (f" ({ci[0]:.2f}–{ci[1]:.2f})" if ci else "")

    columns = [("model (calibrated)", report["model"])]
    if "linear_baseline" in report:
        columns.append(("linear baseline", report["linear_baseline"]))
    columns.append(("always No Impairment", report["always_no_impairment"]))
    lines = [f"Out-of-fold, {report['subjects']} subjects, {report['slices']} slices, {report['folds']} folds; "
             "95% bootstrap intervals over subjects.", ""]
    for name, grades in report["left_out_of_four_class_figures"].items():
        lines += [f"Left out of these figures: {name}, {len(grades)} people, graded "
                  + "; ".join(f"{s}: {g}" for s, g in grades.items()) + " (no honest estimate exists).", ""]
    lines += [
             "| figure | " + " | ".join(name for name, _ in columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    keys = list(INTERVAL_KEYS) + [f"recall {c}" for c in report["model"]["classes_present"]]
    for key in keys:
        lines.append(f"| {key.replace('_', ' ')} | " + " | ".join(cell(m, key) for _, m in columns) + " |")
    lines += ["", "Confusion matrix of the model, slices (rows true, columns predicted; "
              + ", ".join(CLASSES) + "):", ""]
    lines += ["    " + " ".join(f"{v:5d}" for v in row) for row in report["model"]["confusion_matrix"]]
    lines += ["", "Any impairment (P = 1 − P(No Impairment), mean over a subject's slices; threshold chosen on "
              "the other folds):", "", "| figure | model | linear baseline |", "|---|---|---|"]
    base = report.get("linear_baseline_any_impairment")
    for key in ("auc", "balanced_accuracy", "sensitivity", "specificity"):
        ours = report["any_impairment"]
        lines.append(f"| {key.replace('_', ' ')} | {cell(ours, key)} | {cell(base, key) if base else 'n/a'} |")
    cal = report["calibration"]
    lines += ["", f"Calibration (ECE, {cal['bins']} bins; after = fitted on the other folds): chosen "
              f"**{cal['chosen']}**", "", "| | slice | subject |", "|---|---|---|",
              f"| before | {f(cal['before']['slice'])} | {f(cal['before']['subject'])} |"]
    for kind, e in cal["after"].items():
        lines.append(f"| after, {kind} | {f(e['slice'])} | {f(e['subject'])} |")
    return "\n".join(lines) + "\n"


def from_file(oof_path, data_dir=None):
    """:func:`build` on a saved ``oof_logits.csv``; with ``data_dir`` the linear baseline is refitted on the same folds."""
    from pathlib import Path

    from training.crossval import read_rows
    from training.data import load_records

    labels, logits, subjects, folds, paths = read_rows(oof_path)
    baseline = None
    if data_dir is not None:
        by_path = {str(Path(r["path"]).relative_to(data_dir)): r for r in load_records(data_dir)}
        baseline = baseline_out_of_fold([by_path[p] for p in paths], folds)
    return build(labels, logits, subjects, folds, baseline), logits, labels

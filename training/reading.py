"""The reading beside the network, per person, from the committed out-of-fold logits.

For every person of the data set (each graded by a fold model that never saw them, ``oof_logits.csv``) this
module puts side by side, with 95% bootstrap intervals over people:

* the network's any-impairment estimate (mean over the person's slices of ``1 - P(No Impairment)``, the
  probabilities calibrated by a fit on the other folds, as the app calibrates them);
* each atrophy measure of :mod:`mri.measures` alone (nothing fitted: the larger the more impaired);
* the linear pixel baseline (the model card's, refitted on the same folds);
* the combined estimate: a small logistic model over the network's logit and the measures
  (:data:`FEATURES`, fixed before any result), evaluated by nested cross-validation over people: the committed
  folds outside, the other folds' people inside to choose its regularisation; with the paired bootstrap
  interval of its AUC gain over the network;
* a positional pooling of the network's slices (its mean logit over the lower, middle and upper third of the
  band, stacked the same way): the "person-level reading" the issue asked to try.

Every split is by person, never by slice.
"""

import math

import numpy as np

from mri import CLASSES, measures
from mri.combined import NETWORK_LOGIT
from mri.inference import calibration

from .measures_reference import person_values

FEATURES = (NETWORK_LOGIT,) + measures.KEYS
POSITIONAL = ("network_logit_lower_third", "network_logit_middle_third", "network_logit_upper_third")
C_GRID = (0.01, 0.1, 1.0, 10.0)
BOOTSTRAP = 2000
UNIMPAIRED = CLASSES.index("No Impairment")


def logit(p):
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def slice_measures(paths, read_gray, cache=None):
    """Every slice's measures (``low=True``: each carries its medial-temporal value), as an (N, K) array."""
    from pathlib import Path

    if cache is not None and Path(cache).exists():
        return np.load(cache)
    values = np.array([[measures.measure_slice(read_gray(p), low=True)[k] for k in measures.KEYS] for p in paths])
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, values)
    return values


def people(labels, logits, subjects, folds, slices, slice_values, kind="vector"):
    """One row per person: label, fold, the network's estimate, the measures and the positional pooling.

    Also returns the slices' cross-fitted calibrated probabilities (for the headline study).
    """
    labels, folds, slices = np.asarray(labels), np.asarray(folds), np.asarray(slices)
    probs = calibration.cross_fitted(kind, np.asarray(logits, dtype=np.float64), labels, folds)
    per_slice = [dict(zip(measures.KEYS, row)) for row in slice_values]
    values = person_values(per_slice, list(subjects), list(slices))
    names = sorted(values)
    index = {s: [] for s in names}
    for i, s in enumerate(subjects):
        index[s].append(i)
    table = {"subject": names, "label": np.array([labels[index[s][0]] for s in names]),
             "fold": np.array([folds[index[s][0]] for s in names]),
             "probs": np.array([probs[index[s]].mean(axis=0) for s in names])}
    table["p_any"] = 1.0 - table["probs"][:, UNIMPAIRED]
    table[NETWORK_LOGIT] = logit(table["p_any"])
    for key in measures.KEYS:
        table[key] = np.array([values[s][key] for s in names])
    for third, name in enumerate(POSITIONAL):
        table[name] = np.array([_third_logit(probs[index[s]], slices[index[s]], third) for s in names])
    return table, probs


def _third_logit(probs, slices, third):
    span = max(float(slices.max() - slices.min()), 1.0)
    which = np.minimum(((slices - slices.min()) / span * 3).astype(int), 2) == third
    return float(logit(1.0 - probs[which, UNIMPAIRED].mean())) if which.any() else 0.0


def design(table, features):
    """The feature matrix; a missing value takes its column's mean (as ``mri.combined`` does at run time)."""
    x = np.column_stack([np.asarray(table[f], dtype=np.float64) for f in features])
    means = np.nanmean(x, axis=0)
    return np.where(np.isfinite(x), x, means)


def _fit(x, y, c):
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    model = LogisticRegression(C=c, max_iter=1000).fit((x - mean) / scale, y)
    return mean, scale, model


def _predict(fitted, x):
    mean, scale, model = fitted
    return model.predict_proba((x - mean) / scale)[:, 1]


def choose_c(x, y, folds):
    """The regularisation with the lowest pooled out-of-fold log loss over ``folds`` (people never split).

    Log loss, not AUC: the estimate is shown as a probability, so it must be calibrated as well as ranked (chosen
    by AUC, the strongest regularisation won and shrank every probability towards the base rate: ECE 0.14)."""
    from sklearn.metrics import log_loss

    def loss(c):
        out = np.zeros(len(y))
        for k in np.unique(folds):
            out[folds == k] = _predict(_fit(x[folds != k], y[folds != k], c), x[folds == k])
        return log_loss(y, out, labels=[0, 1])

    return min(C_GRID, key=loss)


def nested(x, y, folds):
    """Out-of-fold probabilities of the stacked model and the C chosen in each outer fold."""
    out, chosen = np.zeros(len(y)), {}
    for k in np.unique(folds):
        inner = folds != k
        c = choose_c(x[inner], y[inner], folds[inner])
        chosen[int(k)] = c
        out[folds == k] = _predict(_fit(x[inner], y[inner], c), x[folds == k])
    return out, chosen


def checkpoint_model(table, features=FEATURES):
    """The stacked model fitted on every person (C chosen by CV over the folds), as ``mri.combined`` reads it."""
    x, y = design(table, features), (table["label"] != UNIMPAIRED).astype(int)
    c = choose_c(x, y, table["fold"])
    mean, scale, model = _fit(x, y, c)
    return {"features": list(features), "coef": [float(v) for v in model.coef_[0]],
            "intercept": float(model.intercept_[0]), "mean": [float(v) for v in mean],
            "scale": [float(v) for v in scale], "C": float(c), "people": int(len(y))}


def person_draws(groups, rng):
    """Row indices of one bootstrap draw of whole people (``groups``: each row's person)."""
    groups = np.asarray(groups)
    names, inverse = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inverse == j) for j in range(len(names))]
    while True:
        yield np.concatenate([members[j] for j in rng.integers(0, len(names), len(names))])


def auc_interval(y, score, seed=0, n=BOOTSTRAP, groups=None):
    """AUC and its 95% bootstrap interval, people drawn whole (``groups``: each row's person; default one row
    per person)."""
    from sklearn.metrics import roc_auc_score

    y, score = np.asarray(y), np.asarray(score, dtype=np.float64)
    rng, draws = np.random.default_rng(seed), []
    drawn = person_draws(np.arange(len(y)) if groups is None else groups, rng)
    for _ in range(n // 4 if groups is not None else n):
        i = next(drawn)
        if 0 < y[i].sum() < len(i):
            draws.append(roc_auc_score(y[i], score[i]))
    return float(roc_auc_score(y, score)), [float(np.percentile(draws, q)) for q in (2.5, 97.5)]


def paired_gain(y, better, base, seed=0, n=BOOTSTRAP):
    """AUC(better) - AUC(base) on the same people, with its paired bootstrap interval and P(gain > 0)."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y)
    rng, draws = np.random.default_rng(seed), []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        if 0 < y[i].sum() < len(i):
            draws.append(roc_auc_score(y[i], better[i]) - roc_auc_score(y[i], base[i]))
    gain = roc_auc_score(y, better) - roc_auc_score(y, base)
    return {"gain": float(gain), "interval": [float(np.percentile(draws, q)) for q in (2.5, 97.5)],
            "share_of_draws_above_0": float(np.mean(np.array(draws) > 0))}


def binary_ece(p, y, bins=10):
    p, y = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)
    edges, total = np.linspace(0, 1, bins + 1), 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (p > lo) & (p <= hi) if lo > 0 else (p >= lo) & (p <= hi)
        if inside.any():
            total += inside.mean() * abs(p[inside].mean() - y[inside].mean())
    return float(total)


def any_impairment_study(table, baseline_p_any=None):
    """Every per-person any-impairment figure of the model card, and the decision on the combined estimate."""
    y = (table["label"] != UNIMPAIRED).astype(int)
    folds = table["fold"]
    combined, c_chosen = nested(design(table, FEATURES), y, folds)
    positional, _ = nested(design(table, POSITIONAL), y, folds)
    rows = {"network": _row(y, table["p_any"], calibrated=True)}
    for key in measures.KEYS:
        finite = np.isfinite(table[key])
        rows[key] = _row(y[finite], table[key][finite])
    if baseline_p_any is not None:
        rows["linear_baseline"] = _row(y, baseline_p_any, calibrated=True)
    rows["combined"] = _row(y, combined, calibrated=True)
    rows["positional_pooling"] = _row(y, positional, calibrated=True)
    gain = paired_gain(y, combined, table["p_any"])
    return {
        "people": int(len(y)), "impaired": int(y.sum()), "features": list(FEATURES),
        "rows": rows, "combined_gain_over_network": gain,
        "positional_gain_over_network": paired_gain(y, positional, table["p_any"]),
        "combined_c_per_fold": c_chosen,
        "combined_ships": bool(rows["combined"]["auc"] > rows["network"]["auc"]),
    }, combined


def _row(y, score, calibrated=False, groups=None):
    auc, interval = auc_interval(y, score, groups=groups)
    row = {"auc": auc, "interval": interval, "people": int(len(y))}
    if calibrated:
        row["ece"] = binary_ece(score, y)
    return row


def slice_level_combined(table, labels, probs, subjects, folds, slice_values, model_features=FEATURES):
    """Each slice's combined estimate by the model fitted on the other folds' people (single-slice uploads)."""
    x_people, y = design(table, model_features), (table["label"] != UNIMPAIRED).astype(int)
    columns = {NETWORK_LOGIT: logit(1.0 - probs[:, UNIMPAIRED])}
    for j, key in enumerate(measures.KEYS):
        # A lone slice has no band, so no medial-temporal value: the model reads the training mean.
        columns[key] = np.full(len(probs), np.nan) if key == "medial_temporal_csf" else slice_values[:, j]
    x_slices = np.column_stack([columns[f] for f in model_features])
    folds = np.asarray(folds)
    out = np.zeros(len(probs))
    for k in np.unique(table["fold"]):
        inner = table["fold"] != k
        c = choose_c(x_people[inner], y[inner], table["fold"][inner])
        fitted = _fit(x_people[inner], y[inner], c)
        rows = folds == k
        x = np.where(np.isfinite(x_slices[rows]), x_slices[rows], fitted[0])
        out[rows] = _predict(fitted, x)
    y_slices = (np.asarray(labels) != UNIMPAIRED).astype(int)
    groups = list(subjects)
    return {"network": _row(y_slices, 1.0 - probs[:, UNIMPAIRED], True, groups),
            "combined": _row(y_slices, out, True, groups)}, out


def finite_or_none(value):
    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else value

"""Choosing the headline rule of :mod:`mri.headline` on out-of-fold data, and how often each headline is right.

The rule's three numbers are chosen from :data:`GRID` by one objective fixed before any result: the number
of people given a right grade minus the number given a wrong one (a wrong firm headline costs what a right
one gains; "cannot tell" neither gains nor costs). Ties go to the rule that says "cannot tell" least.

How often each headline is right is measured by nested cross-validation over people: for each fold the rule
is chosen on the other folds' people and applied to this fold's, so no person helps choose the rule that
headlines them.
"""

import itertools

import numpy as np

from mri import CLASSES
from mri.headline import CANNOT_TELL, headline

GRID = {
    "min_margin": (0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30),
    "no_impairment_below": (0.30, 0.35, 0.40, 0.45, 0.50),
    "impaired_from": (0.50, 0.55, 0.60, 0.65, 0.70),
}


def rules():
    keys = list(GRID)
    return [dict(zip(keys, values)) for values in itertools.product(*(GRID[k] for k in keys))]


def headlines(probs, any_impairment, rule):
    """The headline of each reading (rows of ``probs`` in CLASSES order)."""
    return [headline(dict(zip(CLASSES, map(float, p))), float(a), rule) for p, a in zip(probs, any_impairment)]


def objective(said, labels):
    right = sum(h.kind != CANNOT_TELL and h.grade == CLASSES[t] for h, t in zip(said, labels))
    firm = sum(h.kind != CANNOT_TELL for h in said)
    return right - (firm - right), -(len(said) - firm)


def choose(probs, any_impairment, labels):
    return max(rules(), key=lambda r: objective(headlines(probs, any_impairment, r), labels))


def how_often_right(said, labels):
    """Per headline: how many readings got it and the share of those whose true class it names; for "cannot
    tell", the true classes of the readings it was given to."""
    out = {}
    for name in CLASSES:
        given = [t for h, t in zip(said, labels) if h.kind != CANNOT_TELL and h.grade == name]
        out[name] = {"given": len(given), "right": (sum(CLASSES[t] == name for t in given) / len(given))
                     if given else None}
    unsure = [CLASSES[t] for h, t in zip(said, labels) if h.kind == CANNOT_TELL]
    out[CANNOT_TELL] = {"given": len(unsure), "true_classes": {c: unsure.count(c) for c in CLASSES if c in unsure},
                        "reasons": {r: sum(h.reason == r for h in said if h.kind == CANNOT_TELL)
                                    for r in ("close", "disagree")}}
    firm = [(h, t) for h, t in zip(said, labels) if h.kind != CANNOT_TELL]
    out["any grade"] = {"given": len(firm), "right": (sum(h.grade == CLASSES[t] for h, t in firm) / len(firm))
                        if firm else None}
    return out


def nested_report(probs, any_impairment, labels, folds, rules_per_fold=None):
    """Each reading headlined by the rule chosen on the other folds (or given per fold: the slices of a fold get
    the rule chosen on the other folds' people, as the app applies one rule to both); the figures of
    :func:`how_often_right`."""
    probs, any_impairment = np.asarray(probs), np.asarray(any_impairment)
    labels, folds = np.asarray(labels), np.asarray(folds)
    said, chosen = [None] * len(labels), {}
    for k in np.unique(folds):
        rest, here = folds != k, np.flatnonzero(folds == k)
        rule = (rules_per_fold[int(k)] if rules_per_fold is not None
                else choose(probs[rest], any_impairment[rest], labels[rest]))
        chosen[int(k)] = rule
        for i, h in zip(here, headlines(probs[here], any_impairment[here], rule)):
            said[i] = h
    argmax = [CLASSES[int(i)] for i in probs.argmax(axis=1)]
    return {"readings": int(len(labels)), "rule_per_fold": chosen, "nested": how_often_right(said, labels),
            "argmax_right": float(np.mean([a == CLASSES[t] for a, t in zip(argmax, labels)]))}


def checkpoint_rule(probs, any_impairment, labels, nested):
    """The rule chosen on every person, with its nested figures, as ``headline_rule`` in the checkpoint."""
    rule = choose(np.asarray(probs), np.asarray(any_impairment), np.asarray(labels))
    return {**{k: float(v) for k, v in rule.items()}, "chosen_on": "out-of-fold people, all folds",
            "how_often_right_nested": nested}

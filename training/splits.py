"""Splitting the data by person, never by slice: one seeded shuffle of each class's subjects, then either
dealt into k folds (cross-validation) or cut into a held-out share (early stopping, the detector's check)."""

import random
from collections import defaultdict


def shuffled_by_class(records, subjects, seed):
    """``[(label, [subject, ...])]`` in label order, each class's subjects shuffled by one seeded generator."""
    label_of = {r["subject"]: r["label"] for r in records}
    by_class = defaultdict(list)
    for s in sorted(subjects):
        by_class[label_of[s]].append(s)
    rng = random.Random(seed)
    for label in sorted(by_class):
        rng.shuffle(by_class[label])
    return [(label, by_class[label]) for label in sorted(by_class)]


def stratified_folds(records, subjects, k, seed):
    """Subject -> fold index, dealt class by class so that every fold has each class's share.

    A class with fewer than ``k`` subjects is dealt too (Moderate Impairment's two
    subjects land in two folds): each is then predicted by a model that saw the other.
    """
    fold, dealt = {}, 0
    for _, members in shuffled_by_class(records, subjects, seed):
        for s in members:
            fold[s] = dealt % k
            dealt += 1
    return fold


def subject_split(records, val_fraction, seed, min_subjects=3):
    """``(training subjects, held-out subjects)``: about ``val_fraction`` of each class's subjects held out.

    Classes with fewer than ``min_subjects`` subjects stay entirely in training
    (Moderate Impairment has two: no held-out figure exists for it).
    """
    train, val = [], []
    for _, members in shuffled_by_class(records, {r["subject"] for r in records}, seed):
        n_val = int(round(len(members) * val_fraction)) if len(members) >= min_subjects else 0
        val += members[:n_val]
        train += members[n_val:]
    return sorted(train), sorted(val)

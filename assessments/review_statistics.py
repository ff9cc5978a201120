"""How far doctors agree with the model: a confusion table, Cohen's kappa and percent agreement, each with a 95%
bootstrap interval, from (model grade, doctor grade) pairs.

Plain Python and numpy (no Django): the caller picks the reviews and hands over their pairs.
"""

import math
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from mri import CLASSES

# Resamples of the reviews for the intervals, drawn from a fixed seed so that a page shows the same interval
# each time it is opened over the same reviews.
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261204


@dataclass(frozen=True)
class Interval:
    """A 95% percentile bootstrap interval."""

    low: float
    high: float


@dataclass(frozen=True)
class Agreement:
    """``matrix[i][j]``: reviews where the model said ``CLASSES[i]`` and the doctor ``columns[j]``."""

    columns: tuple
    matrix: list
    reviews: int
    graded: int  # reviews with a grade (not "cannot tell"): kappa and percent agreement are over these
    agreeing: int
    kappa: float | None
    weighted_kappa: float | None  # quadratic weights: the grades are ordered, a near miss counts less
    kappa_interval: Interval | None = None
    percent_interval: Interval | None = None

    @property
    def rows(self):
        return list(zip(CLASSES, self.matrix))

    @property
    def cells(self):
        """``[(model grade, [(doctor grade, count)])]``: the table as the page draws it."""
        return [(grade, list(zip(self.columns, counts))) for grade, counts in self.rows]

    @property
    def cannot_tell(self):
        return self.reviews - self.graded

    @property
    def percent_agreement(self):
        """Share of the graded reviews where the doctor gave the model's grade, or None without any."""
        return self.agreeing / self.graded if self.graded else None


def kappa(model, doctor, weights=None):
    """Cohen's kappa over the four grades, or None where it is undefined (no pairs, or one grade only)."""
    if not model:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        value = cohen_kappa_score(model, doctor, labels=list(CLASSES), weights=weights)
    return None if math.isnan(value) else float(value)


def kappas_of_tables(tables):
    """Unweighted Cohen's kappa of each ``(n, k, k)`` count table at once; NaN where it is undefined."""
    totals = tables.sum(axis=(1, 2)).astype(float)
    observed = np.trace(tables, axis1=1, axis2=2) / totals
    chance = np.einsum("nk,nk->n", tables.sum(axis=2), tables.sum(axis=1)) / totals ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(chance < 1, (observed - chance) / (1 - chance), np.nan)


def percentile_interval(values):
    values = values[~np.isnan(values)]
    if values.size == 0:
        return None
    low, high = np.percentile(values, [2.5, 97.5])
    return Interval(float(low), float(high))


def bootstrap_intervals(model, doctor, resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED):
    """``(kappa interval, percent agreement interval)`` over graded pairs resampled with replacement; None
    where there are fewer than two pairs (one pair resampled is always itself) or kappa is never defined."""
    if len(model) < 2:
        return None, None
    index = {name: k for k, name in enumerate(CLASSES)}
    cells = np.array([index[m] * len(CLASSES) + index[d] for m, d in zip(model, doctor)])
    drawn = cells[np.random.default_rng(seed).integers(0, len(cells), size=(resamples, len(cells)))]
    tables = np.stack([np.bincount(row, minlength=len(CLASSES) ** 2) for row in drawn])
    tables = tables.reshape(resamples, len(CLASSES), len(CLASSES))
    agreeing = np.trace(tables, axis1=1, axis2=2) / len(cells)
    return percentile_interval(kappas_of_tables(tables)), percentile_interval(agreeing)


def agreement(pairs, cannot_tell):
    """``pairs``: ``[(model grade, doctor grade)]``; the doctor's grade may be ``cannot_tell``."""
    columns = (*CLASSES, cannot_tell)
    pairs = list(pairs)
    if pairs:
        model, doctor = zip(*pairs)
        matrix = confusion_matrix(model, doctor, labels=list(columns))[:len(CLASSES)].tolist()
    else:
        matrix = [[0] * len(columns) for _ in CLASSES]
    graded = [(m, d) for m, d in pairs if d != cannot_tell]
    model, doctor = (list(side) for side in zip(*graded)) if graded else ([], [])
    kappa_interval, percent_interval = bootstrap_intervals(model, doctor)
    return Agreement(columns=columns, matrix=matrix, reviews=len(pairs), graded=len(graded),
                     agreeing=sum(m == d for m, d in graded), kappa=kappa(model, doctor),
                     weighted_kappa=kappa(model, doctor, weights="quadratic"),
                     kappa_interval=kappa_interval, percent_interval=percent_interval)

"""How far doctors agree with the model: a confusion matrix and Cohen's kappa from (model, doctor) grade pairs."""

import math
import warnings
from dataclasses import dataclass

from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from mri import CLASSES


@dataclass(frozen=True)
class Agreement:
    """``matrix[i][j]``: reviews where the model said ``CLASSES[i]`` and the doctor ``columns[j]``."""

    columns: tuple
    matrix: list
    reviews: int
    graded: int  # reviews with a grade (not "cannot tell"): the ones kappa is computed from
    agreeing: int
    kappa: float | None
    weighted_kappa: float | None  # quadratic weights: the grades are ordered, a near miss counts less

    @property
    def rows(self):
        return list(zip(CLASSES, self.matrix))


def kappa(model, doctor, weights=None):
    """Cohen's kappa over the four grades, or None where it is undefined (no pairs, or one grade only)."""
    if not model:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        value = cohen_kappa_score(model, doctor, labels=list(CLASSES), weights=weights)
    return None if math.isnan(value) else float(value)


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
    return Agreement(columns=columns, matrix=matrix, reviews=len(pairs), graded=len(graded),
                     agreeing=sum(m == d for m, d in pairs), kappa=kappa(model, doctor),
                     weighted_kappa=kappa(model, doctor, weights="quadratic"))

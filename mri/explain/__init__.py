"""Explaining a grade: the explanation methods (:mod:`.method`, one file each), overlays, regions, faithfulness."""

from mri.explain import grad_cam, log_odds, shift_and_stitch
from mri.explain.method import DEFAULT, METHODS, ExplanationMethod, method_for, register

__all__ = ["DEFAULT", "METHODS", "ExplanationMethod", "grad_cam", "log_odds", "shift_and_stitch", "method_for", "register"]

"""What a reading means beside its grade: the atrophy measures with their reference ranges, the app's
any-impairment estimate and the honest headline, worked out once per upload from the served checkpoint.

Plain Python (no Django), shared by the upload (:mod:`.intake`) and ``manage.py analyze``, so the page, the
PDF, the admin, the API and the command all show what was worked out here and nothing recomputed.

The measures are read on the slices the result counts (a volume's slices the out-of-training check left out
are not measured either), bottom to top by their positions, so the medial-temporal measure comes from the
lowest third of them; a single slice has no band, and so no medial-temporal measure.
"""

import math
from dataclasses import dataclass

from mri import measures
from mri.combined import combined_any_impairment, model_from_checkpoint
from mri.headline import Headline, headline, rule_from_checkpoint


@dataclass(frozen=True)
class Interpretation:
    # {key: {"value": float or None, "reference": {group: {"q1", "median", "q3", ...}}}} in MEASURES' order
    measures: dict
    any_impairment: float
    headline: Headline


def finite_or_none(value):
    return float(value) if value is not None and math.isfinite(float(value)) else None


def measured(grays, positions):
    """``{key: value}`` of the slices given: one slice alone, or a band (with the medial-temporal measure)."""
    if len(grays) == 1:
        return measures.measure_slice(grays[0])
    return measures.measure_band(grays, positions)


def with_references(values, checkpoint):
    """``values`` ({key: float}) with the checkpoint's reference ranges: the stored and published shape."""
    reference = measures.reference_from_checkpoint(checkpoint)
    return {one.key: {"value": finite_or_none(values.get(one.key)), "reference": reference.get(one.key, {})}
            for one in measures.MEASURES}


def interpret(checkpoint, class_probabilities, grays, positions):
    """The :class:`Interpretation` of a result (``{class: probability}``) read off ``grays`` (the counted
    slices, at ``positions``) with the checkpoint's references, combined model and headline rule."""
    values = measured(grays, positions)
    chance = combined_any_impairment(class_probabilities, values, model_from_checkpoint(checkpoint))
    return Interpretation(
        measures=with_references(values, checkpoint),
        any_impairment=float(chance),
        headline=headline(class_probabilities, chance, rule_from_checkpoint(checkpoint)),
    )


def headline_json(said):
    """A :class:`Headline` as stored data: its kind, grade, reason and words (the patient's export)."""
    return {**said.as_dict(), "text": said.text}


def headline_answer(said, record):
    """A :class:`Headline` as the API and ``analyze --json`` answer it: :func:`headline_json` and how often it was
    right on people the model never saw (``record``, mri.headline.TrackRecord; null when not known)."""
    return {**headline_json(said), "track_record": record.as_dict() if record else None}


def measures_json(stored):
    """Stored measures as the API and ``analyze --json`` give them: ``{key: {"value", "reference"}}``, in
    MEASURES' order whatever order the database kept (PostgreSQL's jsonb keeps none)."""
    stored = stored or {}
    return {key: {"value": None if stored[key].get("value") is None else round(float(stored[key]["value"]), 6),
                  "reference": stored[key].get("reference") or {}}
            for key in sorted(stored, key=measure_order)}


def measure_order(key):
    """A measure's place in MEASURES (an unknown key last)."""
    return measures.KEYS.index(key) if key in measures.KEYS else len(measures.KEYS)

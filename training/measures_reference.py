"""The measures' reference ranges from the training people, as ``mri.measures`` reads them from the checkpoint."""

import numpy as np

from mri import measures


def person_values(slice_values, subjects, slices):
    """``{subject: {key: value}}``: each person's mean over their slices (the medial-temporal measure over the
    lowest third of their slice positions), as ``measures.measure_band`` reads a volume.

    ``slice_values``: one ``{key: value}`` per slice, measured with ``low=True`` so that every slice carries
    the medial-temporal value; which of them count is decided here from the positions.
    """
    by_person = {}
    for i, subject in enumerate(subjects):
        by_person.setdefault(subject, []).append(i)
    out = {}
    for subject, idx in by_person.items():
        low = measures.low_slices([slices[i] for i in idx])
        out[subject] = {}
        for key in measures.KEYS:
            values = np.array([slice_values[i][key] for i in idx], dtype=np.float64)
            if key == "medial_temporal_csf":
                values = values[low]
            out[subject][key] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
    return out


def build(values_by_person, group_by_person, classes):
    """``measures_reference`` from people's values and their class names (plus "Any impairment")."""
    groups = {name: [s for s, g in group_by_person.items() if g == name] for name in classes}
    groups[measures.ANY_IMPAIRMENT] = [s for s, g in group_by_person.items() if g != measures.UNIMPAIRED]
    reference = {}
    for key in measures.KEYS:
        reference[key] = {}
        for group, people in groups.items():
            values = np.array([values_by_person[s][key] for s in people], dtype=np.float64)
            values = values[np.isfinite(values)]
            if len(values) == 0:
                continue
            figures = {name: float(np.percentile(values, q)) for name, q in measures.QUANTILES}
            reference[key][group] = {**figures, "n": int(len(values))}
    return reference

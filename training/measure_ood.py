"""Measuring the detector on the bad-input corpus (``tests/fixtures/make_bad_inputs.py``).

Every number docs/formats.md gives about the detector comes from here, written into
the checkpoint's ``ood.info.measured`` by ``python -m training fit_ood``:

* ``ood_refused``: of the corpus's image-like kinds (pictures that are not
  axial brain MRI slices), how many the detector alone refuses;
* ``pipeline_refused``: how many the whole upload path refuses (the cheap
  checks of ``mri.io``, layout included, then the detector);
* ``validation_pipeline_pass_rate``: how many real validation slices that
  whole path lets through (analysed, marked or not);
* ``refused_or_marked``: refused or analysed with the "outside what the model
  was trained on" mark;
* the same per kind, and how real brains it never saw fare (MNI152 template
  slices, pydicom's ``MR_small.dcm``).

Brain-derived kinds (inverted, rotated, cropped...) are made from validation
slices, the very distribution the detector must tell them from. It lives in
training/, not in mri/, because it is a measurement made when the detector is fitted.
"""

import numpy as np

from mri.inference import ood
from mri.io import ScanRejected, quality
from tests.fixtures import make_bad_inputs
from training.data import read_gray
from training.ood_fitting import acquisition_variant, features_of_grays

VARIANTS = 12


def measure(engine, detector, validation_rows, validation_features=None, variants=VARIANTS, seed=1):
    validation_files = [row["path"] for row in validation_rows]

    def brain(rng):
        return read_gray(validation_files[int(rng.integers(len(validation_files)))])

    per_kind, totals = {}, {"count": 0, "ood_refused": 0, "pipeline_refused": 0, "refused_or_marked": 0,
                                  "ood_refused_or_marked": 0}
    for index, name in enumerate(make_bad_inputs.PIXEL_MAKERS):
        try:
            grays = make_bad_inputs.variants(name, variants, seed=seed + index, brain=brain)
        except ImportError as exc:  # nilearn (a test requirement) makes the sagittal and coronal kinds
            per_kind[name] = f"skipped: {exc}"
            continue
        verdicts = verdicts_of(engine, detector, grays)
        caught_early = []
        for gray in grays:
            try:
                quality.check_slice(gray)
            except ScanRejected:
                caught_early.append(True)
            else:
                caught_early.append(False)
        row = {
            "count": len(grays),
            "ood_refused": sum(v == ood.OUT for v in verdicts),
            "ood_refused_or_marked": sum(v != ood.IN for v in verdicts),
            "pipeline_refused": sum(v == ood.OUT or early for v, early in zip(verdicts, caught_early)),
            "refused_or_marked": sum(v != ood.IN or early for v, early in zip(verdicts, caught_early)),
        }
        per_kind[name] = row
        for key in totals:
            totals[key] += row[key]

    count = max(totals["count"], 1)
    result = {
        "image_like_pictures": totals["count"],
        "ood_refused_rate": round(totals["ood_refused"] / count, 4),
        "ood_refused_or_marked_rate": round(totals["ood_refused_or_marked"] / count, 4),
        "pipeline_refused_rate": round(totals["pipeline_refused"] / count, 4),
        "refused_or_marked_rate": round(totals["refused_or_marked"] / count, 4),
        "per_kind": per_kind,
    }
    result.update(unseen_brains(engine, detector))
    result["validation_slices_as_another_scanner_might_give_them"] = other_scanners(engine, detector, brain, seed)
    if validation_features is not None:
        result.update(validation_pipeline(detector, validation_rows, validation_features))
    return result


def validation_pipeline(detector, validation_rows, validation_features):
    """How many real validation slices the whole path lets through (cheap checks, then the detector)."""
    verdicts = detector.verdicts(validation_features)
    passed = clean = 0
    for row, verdict in zip(validation_rows, verdicts):
        try:
            quality.check_slice(read_gray(row["path"]))
        except ScanRejected:
            continue
        passed += verdict != ood.OUT
        clean += verdict == ood.IN
    total = max(len(validation_rows), 1)
    return {"validation_pipeline_pass_rate": round(passed / total, 4),
            "validation_pipeline_unmarked_rate": round(clean / total, 4)}


def other_scanners(engine, detector, brain, seed, count=96):
    """Verdicts on validation slices blurred, re-contrasted, tilted... (``acquisition_variant``):
    how a real slice from another scanner might fare."""
    rng = np.random.default_rng(seed + 1000)
    verdicts = verdicts_of(engine, detector, [acquisition_variant(brain(rng), rng) for _ in range(count)])
    return {v: verdicts.count(v) for v in (ood.IN, ood.UNSURE, ood.OUT)}


def verdicts_of(engine, detector, grays):
    return detector.verdicts(features_of_grays(engine, grays))


def unseen_brains(engine, detector):
    """Verdicts on real brain slices from outside the training data."""
    result = {}
    try:
        from tests.fixtures import scan_files

        slices = [scan_files.mni_axial(offset) for offset in range(-8, 24, 4)]
        verdicts = verdicts_of(engine, detector, slices)
        result["mni152_axial_slices_t1_contrast"] = {v: verdicts.count(v) for v in (ood.IN, ood.UNSURE, ood.OUT)}
    except ImportError as exc:
        result["mni152_axial_slices_t1_contrast"] = f"skipped: {exc}"
    try:
        from pydicom.data import get_testdata_file

        from mri.io import read_scan

        with open(get_testdata_file("MR_small.dcm"), "rb") as fh:
            gray = read_scan(fh.read(), 1 << 24).gray
        result["MR_small.dcm"] = verdicts_of(engine, detector, [gray])[0]
    except Exception as exc:  # only informative
        result["MR_small.dcm"] = f"skipped: {exc}"
    return result

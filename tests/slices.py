"""Real brain slices for the explanation tests: the training set when it is there, else the MNI152 template.

The training slices never enter the repository (the data set's rules); nilearn
ships the MNI152 template inside its package, so the fallback needs no download.
"""

import csv
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.conf import settings
from PIL import Image

DATA_DIR = Path(settings.BASE_DIR).parent / "shared" / "data" / "alzheimer-mri"


def have_training_data():
    # ALZAWARE_TEST_SLICES=mni152 runs the fallback on a machine that has the data, to check it still passes.
    return os.environ.get("ALZAWARE_TEST_SLICES") != "mni152" and (DATA_DIR / "manifest.csv").exists()


def training_slices(count):
    """``count`` slices spread over classes and subjects, from the middle of each volume (most brain)."""
    with open(DATA_DIR / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_label = {}
    for row in rows:
        # Slices 10-22 of 32 hold most of the brain; a few positions per subject vary the anatomy.
        if int(row["slice"]) in (12, 16, 20):
            by_label.setdefault(row["label"], []).append(row)
    chosen, labels = [], sorted(by_label)
    for i in range(count * 4):  # round robin over classes, then over subjects and positions
        group = by_label[labels[i % len(labels)]]
        row = group[(i // len(labels)) * 7 % len(group)]
        if row not in chosen:
            chosen.append(row)
        if len(chosen) == count:
            break
    return [(f"{row['subject']}_s{int(row['slice']):02d}",
             np.asarray(Image.open(DATA_DIR / row["path"]).convert("L"))) for row in chosen]


def template_slices(count):
    """Axial slices of the MNI152 template through the brain, as 8-bit images."""
    from nilearn.datasets import load_mni152_template

    volume = load_mni152_template(resolution=1).get_fdata()
    volume = np.uint8(np.clip(volume / volume.max(), 0, 1) * 255)
    depth = volume.shape[2]
    positions = np.linspace(int(depth * 0.3), int(depth * 0.7), count).astype(int)
    # Rotated so the nose points up, as in the training slices.
    return [(f"mni152_z{z}", np.ascontiguousarray(np.rot90(volume[:, :, z]))) for z in positions]


@lru_cache(maxsize=4)
def brain_slices(count=24):
    """``[(name, gray uint8)]``: real slices, from the training data when present."""
    return tuple(training_slices(count) if have_training_data() else template_slices(count))


def source():
    return "training slices" if have_training_data() else "the MNI152 template"


def admit_slices_to_the_app(testcase):
    """Let the app analyse :func:`brain_slices` even when they are the template's.

    The template is unlike the training slices, and a model with an
    out-of-distribution detector refuses it (tests/web/test_scan_uploads.py checks
    that). Tests of explanations only need a scan the app will analyse, so in
    the fallback they run without the detector; with training slices it stays on.
    """
    if have_training_data():
        return
    from .base import without_detector

    patcher = without_detector()
    patcher.start()
    testcase.addCleanup(patcher.stop)


def model_engine_and_batch(count):
    """The configured model, its checkpoint, an :class:`Engine` on it and ``count`` brain slices prepared as one
    batch of network inputs: what the map tests start from."""
    import torch

    from mri.inference.checkpoint import load_checkpoint
    from mri.inference.engine import Engine

    model, checkpoint = load_checkpoint(settings.ALZAWARE_MODEL_PATH)
    engine = Engine(model, checkpoint)
    return model, checkpoint, engine, torch.stack([engine.prepare(gray)[0] for _, gray in brain_slices(count)])

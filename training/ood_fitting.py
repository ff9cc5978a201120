"""Fitting the out-of-distribution detector of :mod:`.ood` into a checkpoint.

The training subjects' slices define "what the model was trained on"; the
validation subjects' slices (never seen in training) set the thresholds. The
split is the one the model was trained with, read from the checkpoint's
metadata, so no validation slice leaked into the fit; a checkpoint without it
(the untrained stand-in) gets a deterministic split by subject.
"""

import hashlib
from pathlib import Path

import numpy as np
import torch

from mri.inference import ood
from mri.inference.checkpoint import load_checkpoint, recorded_split, save_checkpoint
from mri.inference.engine import Engine
from training.data import load_records, read_gray
from training.splits import subject_split

BATCH = 32
SPLIT_SEED = 20261128


def split_subjects(rows, metadata, validation_fraction=0.2):
    """``(training subjects, validation subjects, source)`` from the checkpoint, or made here."""
    training, validation = recorded_split(metadata)
    if validation:
        training = training or {row["subject"] for row in rows} - validation
        return training - validation, validation, "checkpoint metadata"
    # No recorded split: held out by subject, as training holds out its inner subjects.
    training, validation = subject_split(rows, validation_fraction, SPLIT_SEED)
    return set(training), set(validation), "made here by subject (the checkpoint records none)"


def weights_digest(checkpoint):
    digest = hashlib.sha256()
    for name, tensor in sorted(checkpoint["state_dict"].items()):
        digest.update(name.encode())
        digest.update(tensor.cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def cached(cache_path, compute):
    """``compute()``'s array, kept at ``cache_path`` (None: not kept) so that reruns are instant."""
    if cache_path is not None and Path(cache_path).exists():
        return np.load(cache_path)
    features = compute()
    if cache_path is not None:
        Path(cache_path).parent.mkdir(parents=True, exist_ok=True)
        np.save(cache_path, features)
    return features


def features_of(engine, files, cache_path=None, progress=None):
    """Pooled layer4 features of image files, cached by model and file list."""
    return cached(cache_path, lambda: features_of_grays(engine, (read_gray(f) for f in files), len(files),
                                                       progress))


def acquisition_variant(gray, rng):
    """The same slice as another scanner or pipeline might give it: softer or sharper, another contrast,
    resolution, noise level, a slight tilt, another frame. Never what the detector must refuse: no
    inversion, no quarter turn, no crop into the brain."""
    import cv2

    x = np.asarray(gray, dtype=np.float32)
    h, w = x.shape
    if rng.random() < 0.7:
        x = cv2.GaussianBlur(x, (0, 0), float(rng.uniform(0.6, 2.5)))
    if rng.random() < 0.5:
        factor = float(rng.uniform(1.3, 2.5))
        small = cv2.resize(x, (max(8, int(w / factor)), max(8, int(h / factor))), interpolation=cv2.INTER_AREA)
        x = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    top = max(float(np.percentile(x, 99.5)), 1.0)
    x = np.clip(x / top, 0, 1) ** float(rng.uniform(0.6, 1.6)) * top
    x = x * float(rng.uniform(0.75, 1.25)) + float(rng.uniform(-10, 10)) * (x > 0)
    x = x + rng.normal(0, float(rng.uniform(0, 6)), x.shape) * (x > 2)
    angle, scale = float(rng.uniform(-12, 12)), float(rng.uniform(0.85, 1.1))
    pad = int(rng.integers(0, max(1, w // 4)))
    size = (w + 2 * pad, h + 2 * pad)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    matrix[:, 2] += pad
    x = cv2.warpAffine(x, matrix, size, flags=cv2.INTER_LINEAR, borderValue=0)
    return np.uint8(np.clip(np.round(x), 0, 255))


def variant_features_of(engine, files, cache_path=None, progress=None, seed=0):
    """Features of one :func:`acquisition_variant` of each file (seeded: reruns give the same)."""
    def compute():
        rng = np.random.default_rng(seed)
        return features_of_grays(engine, (acquisition_variant(read_gray(f), rng) for f in files), len(files),
                                 progress)
    return cached(cache_path, compute)


def features_of_grays(engine, grays, total=None, progress=None):
    """Pooled layer4 features of rendered slices (any iterable), a batch at a time."""
    out, batch = [], []
    for gray in grays:
        batch.append(gray)
        if len(batch) == BATCH:
            out.extend(a.features for a in engine.analyse_many(batch))
            batch = []
            if progress:
                progress(len(out), total)
    if batch:
        out.extend(a.features for a in engine.analyse_many(batch))
        if progress:
            progress(len(out), total)
    return np.asarray(out, dtype=np.float32)


def fit_into_checkpoint(model_path, data_dir, *, train_stride=2, cache_dir=None, measure=None, real_brains=(),
                        log=print):
    """Fit the detector for ``model_path`` on ``data_dir``, re-save the checkpoint; returns the detector.

    ``real_brains``: rendered slices of real brains from elsewhere (other pipelines, scanners, people);
X
    """
    model_path = Path(model_path)
    model, checkpoint = load_checkpoint(model_path)
    engine = Engine(model, checkpoint)
    rows = load_records(data_dir)
    if any(r["subject"] is None for r in rows):
        raise ValueError(f"{data_dir} needs a manifest.csv with subjects (path,label,subject,slice)")
    training, validation, source = split_subjects(rows, dict(checkpoint.get("metadata") or {}))
    log(f"split from {source}: {len(training)} training subjects, {len(validation)} validation subjects")

    # Neighbouring slices of one scan are nearly identical: every other one is enough for the cloud.
    train_rows = [r for r in rows if r["subject"] in training][::train_stride]
    validation_rows = [r for r in rows if r["subject"] in validation]
    # Keyed by the weights, not the file: re-saving with a new ``ood`` key keeps the cache valid.
    key = weights_digest(checkpoint)

    def cache(name, selected):
        if not cache_dir:
            return None
        digest = hashlib.sha256("\n".join(r["path"] for r in selected).encode()).hexdigest()[:12]
        return Path(cache_dir) / f"{key}-{name}-{digest}.npy"

    log(f"features of {len(train_rows)} training and {len(validation_rows)} validation slices, and variants of "
        f"{len(validation_rows[::2])} of those (model {key})")
    progress = _progress(log)
    train_features = features_of(engine, [r["path"] for r in train_rows], cache("train", train_rows), progress)
    validation_features = features_of(engine, [r["path"] for r in validation_rows],
                                      cache("validation", validation_rows), progress)
    # The same validation slices as another scanner might give them: the refusal threshold leaves room for those.
    variant_rows = validation_rows[::2]
    variant_features = variant_features_of(engine, [r["path"] for r in variant_rows],
                                           cache("variants", variant_rows), progress)
    real_features = features_of_grays(engine, real_brains, len(real_brains)) if len(real_brains) else None
    detector = ood.fit(train_features, validation_features, variant_features, real_features=real_features)
    detector.info.update({"split_source": source, "train_stride": int(train_stride)})
    if measure is not None:
        detector.info["measured"] = measure(engine, detector, validation_rows, validation_features)

    extra = {k: v for k, v in checkpoint.items() if k != "state_dict"}
    extra["ood"] = detector.to_checkpoint()
    save_checkpoint(model, model_path, input_size=checkpoint["input_size"], extra=extra)
    # The file must load exactly as before apart from the new key.
    reloaded = torch.load(model_path, map_location="cpu", weights_only=True)
    assert set(reloaded) == set(checkpoint) | {"ood"}, "re-saving lost a checkpoint key"
    return detector


def _progress(log):
    def report(done, total):
        if done == total or done % (BATCH * 10) == 0:
            log(f"  {done}/{total}")
    return report

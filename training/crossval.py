"""Cross-validation over every subject, then the final model on all of them (issue 9).

Plain Python (no Django): ``python -m training cross_validate`` is a thin wrapper.

With 30-40 held-out subjects the split decides more than the recipe, so the
figures we publish come from grouped, class-stratified K-fold cross-validation
over all subjects: every slice is predicted once by a model that never saw its
person. Those out-of-fold logits are saved (one row per slice) so that the
calibration and every figure of the model card can be recomputed from them;
the final model is the same recipe trained on every subject.

Every training run is resumable: each fold keeps its per-epoch state under
``run_dir`` and its finished logits in ``fold-K.npz``; a rerun skips what is done.
"""

import csv
import json
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from mri import CLASSES
from mri.inference.calibration import fit_temperature
from mri.inference.checkpoint import build_model, save_checkpoint
from training.data import fingerprint, load_records
from training.splits import stratified_folds
from training.training import (
    DEFAULT_PREPROCESSING,
    DEFAULT_RECIPE,
    _atomic_save,
    bf16_supported,
    cache_squares,
    fit,
    git_version,
    inner_subjects,
    pick_device,
    predict_logits,
)

OOF_COLUMNS = ["path", "subject", "label", *[f"logit_{i}" for i in range(len(CLASSES))], "fold"]


def _train_run(squares, labels, subjects, train_idx, recipe, device, state_path, log):
    """One resumable training run on ``train_idx``, early-stopped on its own inner subjects."""
    train_records = [{"subject": subjects[i], "label": int(labels[i])} for i in train_idx]
    inner = set(inner_subjects(train_records, recipe))
    is_inner = np.array([subjects[i] in inner for i in train_idx], dtype=bool)
    fit_idx, inner_idx = train_idx[~is_inner], train_idx[is_inner]
    resume = torch.load(state_path, map_location=device, weights_only=False) if state_path.exists() else None
    if resume is not None and resume.get("train_idx") != fit_idx.tolist():
        raise ValueError(f"{state_path} belongs to another split; remove it to start afresh")

    def save(state):
        _atomic_save(dict(state, train_idx=fit_idx.tolist()), state_path)

    model, history, best_epoch = fit(
        squares[fit_idx], labels[fit_idx], recipe, device=device,
        inner=(squares[inner_idx], labels[inner_idx]) if len(inner_idx) else None,
        resume_state=resume, on_epoch=save, log=log, progress_bar=False)
    return model, history, best_epoch, sorted({subjects[i] for i in fit_idx})


def cross_validate(data_dir, run_dir, folds=5, recipe=None, threads=2, device=None, log=print,
                   subjects_limit=None):
    """Train the K fold models (skipping finished ones); returns the out-of-fold rows.

    ``subjects_limit``: keep only that many subjects (smoke tests).
    """
    records, squares, labels, subjects, recipe, device = _prepare(data_dir, run_dir, recipe, threads, device,
                                                                 subjects_limit)
    run_dir = Path(run_dir)
    fold_of = stratified_folds(records, set(subjects), folds, recipe["seed"] + 11)
    fold = np.array([fold_of[s] for s in subjects])
    spec = dict(DEFAULT_PREPROCESSING)
    for k in range(folds):
        done = run_dir / f"fold-{k}.npz"
        if done.exists():
            continue
        t0 = time.time()
        log(f"fold {k + 1}/{folds}: {len(set(np.array(subjects)[fold == k]))} test subjects")
        model, history, best_epoch, _ = _train_run(squares, labels, subjects, np.flatnonzero(fold != k), recipe,
                                                   device, run_dir / f"fold-{k}-state.pt", log)
        logits = predict_logits(model, squares[np.flatnonzero(fold == k)], spec, autocast=bf16_supported(device))
        np.savez(done, test_idx=np.flatnonzero(fold == k), logits=logits.numpy(), best_epoch=best_epoch or 0,
                 seconds=history[-1]["seconds"] if history else 0.0, history=json.dumps(history))
        log(f"fold {k + 1}/{folds} done in {(time.time() - t0) / 60:.1f} min (kept epoch {best_epoch})")
    return out_of_fold_rows(records, run_dir, folds, data_dir)


def train_final(data_dir, run_dir, recipe=None, threads=2, device=None, log=print, subjects_limit=None):
    """The same recipe on every subject: ``{state_dict, history, best_epoch, recipe, fit_subjects}``.

    ``fit_subjects`` are those it took gradient steps on; the others are its inner
    validation subjects, which chose the epoch.
    """
    records, squares, labels, subjects, recipe, device = _prepare(data_dir, run_dir, recipe, threads, device,
                                                                 subjects_limit)
    run_dir = Path(run_dir)
    log(f"final model: {len(set(subjects))} subjects, {len(records)} slices")
    model, history, best_epoch, fit_subjects = _train_run(squares, labels, subjects, np.arange(len(records)),
                                                          recipe, device, run_dir / "final-state.pt", log)
    model = model.cpu().to(memory_format=torch.contiguous_format).eval()
    return {"state_dict": model.state_dict(), "history": history, "best_epoch": best_epoch, "recipe": recipe,
            "fit_subjects": fit_subjects}


def _prepare(data_dir, run_dir, recipe, threads, device, subjects_limit):
    """What every run of the protocol starts from: ``(records, squares, labels, subjects, recipe, device)``."""
    torch.set_num_threads(threads)
    recipe = dict(DEFAULT_RECIPE, **(recipe or {}))
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    records = load_records(data_dir)
    if any(r["subject"] is None for r in records):
        raise ValueError("cross-validation needs subjects: give the folder a manifest.csv")
    records = _few_subjects(records, subjects_limit)
    squares, labels, subjects = _cached_inputs(records, recipe, run_dir, data_dir)
    return records, squares, labels, subjects, recipe, pick_device(device)


def _few_subjects(records, limit):
    """``limit`` subjects spread over the classes (smoke runs), or every record when ``limit`` is None."""
    if not limit:
        return records
    by_class = defaultdict(set)
    for r in records:
        by_class[r["label"]].add(r["subject"])
    per_class = max(limit // len(by_class), 1)
    keep = {s for subs in by_class.values() for s in sorted(subs)[:per_class]}
    return [r for r in records if r["subject"] in keep]


def _cached_inputs(records, recipe, run_dir, data_dir):
    """The cropped squares of every slice, decoded once and kept beside the run."""
    size = recipe["img_size"]
    path = Path(run_dir) / f"squares-{size}-{fingerprint(data_dir, records)[:12]}-{len(records)}.npy"
    if path.exists():
        squares = torch.from_numpy(np.load(path))
    else:
        squares = cache_squares(records, size, dict(DEFAULT_PREPROCESSING), progress_bar=False)
        np.save(path, squares.numpy())
    return squares, np.array([r["label"] for r in records]), [r["subject"] for r in records]


def out_of_fold_rows(records, run_dir, folds, data_dir):
    """Rows of ``OOF_COLUMNS`` from the finished folds, in the order of ``records``."""
    rows = [None] * len(records)
    for k in range(folds):
        saved = np.load(Path(run_dir) / f"fold-{k}.npz")
        for i, logits in zip(saved["test_idx"].tolist(), saved["logits"].tolist()):
            r = records[i]
            rows[i] = {"path": str(Path(r["path"]).relative_to(data_dir)), "subject": r["subject"],
                       "label": CLASSES[r["label"]], **{f"logit_{j}": round(v, 5) for j, v in enumerate(logits)},
                       "fold": k}
    return rows


def write_rows(rows, path):
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=OOF_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def read_rows(path):
    """The saved out-of-fold file -> ``(labels, logits, subjects, folds, paths)``."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    labels = np.array([CLASSES.index(r["label"]) for r in rows])
    logits = np.array([[float(r[f"logit_{j}"]) for j in range(len(CLASSES))] for r in rows])
    return (labels, logits, [r["subject"] for r in rows], np.array([int(r["fold"]) for r in rows]),
            [r["path"] for r in rows])


def headline(report):
    """The figures the app quotes to patients and doctors, read from the checkpoint at run time."""
    model, any_imp = report["model"], report["any_impairment"]
    return {
        "protocol": f"{report['folds']}-fold cross-validation grouped by person, over every subject",
        "subjects": report["subjects"], "slices": report["slices"],
        "subject_accuracy": model["subject_accuracy"], "balanced_accuracy": model["balanced_accuracy"],
        "any_impairment_auc": any_imp["auc"],
        "any_impairment_balanced_accuracy": any_imp["balanced_accuracy"],
        "any_impairment_sensitivity": any_imp["sensitivity"],
        "any_impairment_specificity": any_imp["specificity"],
        "any_impairment_threshold": any_imp["threshold"],
        "ece_slice": report["calibration"]["after"][report["calibration"]["chosen"]]["slice"],
    }


def save_final(final, report, out_path, data_dir, oof_logits, oof_labels):
    """The shipped checkpoint: the final weights (float16), the calibration chosen on the folds, and metadata."""
    records = load_records(data_dir)
    fit_subjects = final["fit_subjects"]
    inner = sorted({r["subject"] for r in records} - set(fit_subjects))
    model = build_model()
    model.load_state_dict(final["state_dict"])
    chosen = report["calibration"]["fitted"]
    metadata = {
        "trained": True,
        "architecture": "torchvision resnet50(weights=None, num_classes=4)",
        "data_fingerprint_sha256": fingerprint(data_dir, records),
        "data_rows": len(records),
        # No subject is held out of the final model; the inner subjects only chose its epoch.
        "split": {"train_subjects": fit_subjects, "val_subjects": inner,
                  "val_role": "early stopping only; every published figure comes from cross-validation"},
        "early_stopping_epoch": final["best_epoch"],
        "recipe": final["recipe"],
        "cross_validation": headline(report),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": git_version(),
        "train_seconds": final["history"][-1]["seconds"] if final["history"] else 0.0,
    }
    return save_checkpoint(model, out_path, input_size=final["recipe"]["img_size"],
                           temperature=fit_temperature(oof_logits, oof_labels),
                           preprocessing=dict(DEFAULT_PREPROCESSING), metadata=metadata, calibration=chosen)

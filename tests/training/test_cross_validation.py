"""The model protocol (issue 9): folds by person, calibration chosen on other folds, honest figures, shipped checkpoint."""

import csv
import io
import json
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from django.test import SimpleTestCase, tag

from mri.inference import calibration
from mri.inference.checkpoint import build_model, load_checkpoint, save_checkpoint
from mri.inference.engine import Engine
from tests.base import DrawnTrainingFolder, drawn_brain_slice, training_command
from training import crossval, splits
from training import report as cv_report
from training.evaluation import ece


def people(per_class):
    """Records of ``per_class[c]`` people of class c, three slices each."""
    return [{"subject": f"c{c}p{p}", "label": c} for c, n in enumerate(per_class) for p in range(n) for _ in range(3)]


class FoldTests(SimpleTestCase):
    def test_every_person_is_in_exactly_one_fold_and_each_class_is_spread_evenly(self):
        records = people([20, 14, 6, 2])
        fold = splits.stratified_folds(records, {r["subject"] for r in records}, 5, seed=3)
        self.assertEqual(len(fold), 42)
        for c, n in enumerate([20, 14, 6]):
            counts = Counter(fold[f"c{c}p{p}"] for p in range(n))
            self.assertLessEqual(max(counts.values()) - min(counts.values()), 1, counts)
        # The two people of the rarest class are each predicted by a model that saw the other.
        self.assertNotEqual(fold["c3p0"], fold["c3p1"])


@tag("slow")  # fits vector scaling by L-BFGS, many times
class CalibrationTests(SimpleTestCase):
    def skewed_logits(self, n=3000, seed=0):
        """Over-confident logits that also favour class 0 too much: what vector scaling is for."""
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, 4, n)
        logits = rng.normal(0, 1, (n, 4))
        logits[np.arange(n), labels] += 1.0
        logits[:, 0] += 1.5
        return labels, logits * 4

    def test_temperature_scaling_is_softmax_of_logits_over_t(self):
        labels, logits = self.skewed_logits()
        fitted = calibration.fit("temperature", logits, labels)
        t = calibration.fit_temperature(logits, labels)
        expected = torch.softmax(torch.as_tensor(logits) / t, 1).numpy()
        np.testing.assert_allclose(calibration.apply(fitted, logits), expected, atol=1e-9)

    def test_vector_scaling_fixes_a_class_bias_that_a_temperature_cannot(self):
        labels, logits = self.skewed_logits()
        folds = np.arange(len(labels)) % 5
        raw = calibration.apply({"scale": [1.0] * 4, "bias": [0.0] * 4}, logits)
        by_t = calibration.cross_fitted("temperature", logits, labels, folds)
        by_vector = calibration.cross_fitted("vector", logits, labels, folds)
        self.assertLess(ece(by_t, labels), ece(raw, labels))
        self.assertLess(ece(by_vector, labels), 0.03)
        self.assertGreater(calibration.fit("vector", logits, labels)["bias"][0],
                           -10)  # finite
        self.assertLess((by_vector.argmax(1) == 0).mean(), (by_t.argmax(1) == 0).mean())

    def test_the_engine_applies_the_checkpoints_calibration(self):
        torch.manual_seed(0)
        model = build_model()
        with tempfile.TemporaryDirectory() as tmp:
            path = save_checkpoint(model, Path(tmp) / "m.pt", input_size=32,
                                   calibration={"kind": "vector", "scale": [0.0] * 4, "bias": [0.0, 0.0, 3.0, 0.0]})
            engine = Engine(*load_checkpoint(path))
        probs = engine.analyse(drawn_brain_slice(0)).probabilities
        e3 = np.exp(3.0)
        np.testing.assert_allclose(probs, [1 / (3 + e3)] * 2 + [e3 / (3 + e3), 1 / (3 + e3)], atol=1e-6)


@tag("slow")  # bootstrap intervals over thousands of resamples
class ReportTests(SimpleTestCase):
    def test_perfectly_separated_people_give_an_auc_of_one_and_intervals_around_the_figures(self):
        records = people([12, 8, 6, 2])
        labels = np.array([r["label"] for r in records])
        subjects = [r["subject"] for r in records]
        rng = np.random.default_rng(1)
        logits = rng.normal(0, 1, (len(labels), 4))
        logits[labels == 0, 0] += 6  # the unimpaired are always clearly unimpaired
        folds = np.array([int(s[-1]) % 5 for s in subjects])
        report = cv_report.build(labels, logits, subjects, folds)
        self.assertEqual(report["any_impairment"]["auc"], 1.0)
        self.assertEqual(report["subjects"], 26)  # the two people of the rare class are left out...
        self.assertEqual(len(report["left_out_of_four_class_figures"]["Moderate Impairment"]), 2)
        self.assertEqual(report["any_impairment"]["subjects"], 28)  # ...but not of "any impairment"
        for key, (low, high) in report["model"]["intervals"].items():
            value = report["model"].get(key, report["model"]["per_class_recall"].get(key.removeprefix("recall ")))
            self.assertLessEqual(low, value + 1e-9, key)
            self.assertGreaterEqual(high, value - 1e-9, key)
        self.assertEqual(report["always_no_impairment"]["per_class_recall"]["No Impairment"], 1.0)


@tag("slow")  # trains and cross-validates a model, then resumes
class CrossValidateCommandTests(DrawnTrainingFolder):
    """``python -m training cross_validate`` end to end on a tiny drawn folder, then rerun."""

    slices = 4

    def run_protocol(self):
        out = io.StringIO()
        training_command("cross_validate", "--data", str(self.data), "--quick", "--out", str(self.checkpoint),
                     "--run-dir", str(self.run_dir), "--device", "cpu", stdout=out)
        return out.getvalue()

    def test_it_saves_out_of_fold_logits_a_report_and_a_calibrated_checkpoint_then_resumes(self):
        printed = self.run_protocol()
        report_dir = self.checkpoint.with_suffix("")
        with open(report_dir / "oof_logits.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        self.assertEqual(len(rows), 48)  # every slice once
        self.assertEqual(list(rows[0]), crossval.OOF_COLUMNS)
        fold_of = {}
        for row in rows:
            self.assertEqual(fold_of.setdefault(row["subject"], row["fold"]), row["fold"])  # a person in one fold
        self.assertEqual(sorted(set(fold_of.values())), ["0", "1", "2", "3", "4"])
        report = json.loads((report_dir / "cv_report.json").read_text())
        self.assertIn(report["calibration"]["chosen"], calibration.KINDS)
        self.assertIn("linear_baseline", report)
        self.assertIn("| balanced accuracy |", (report_dir / "cv_report.md").read_text())

        _, ckpt = load_checkpoint(self.checkpoint)  # checks the recorded SHA-256 too
        self.assertEqual(ckpt["calibration"], report["calibration"]["fitted"])
        self.assertTrue(all(v.dtype == torch.float16 for v in ckpt["state_dict"].values() if v.is_floating_point()))
        meta = ckpt["metadata"]
        self.assertIs(meta["trained"], True)
        self.assertEqual(meta["cross_validation"]["subjects"], 12)
        self.assertEqual(meta["cross_validation"]["any_impairment_auc"], report["any_impairment"]["auc"])
        self.assertEqual(set(meta["split"]["train_subjects"]) | set(meta["split"]["val_subjects"]),
                         set(fold_of))

        out = io.StringIO()
        training_command("cv_report", "--oof", str(report_dir / "oof_logits.csv"), "--data", str(self.data), "--json",
                     stdout=out)
        again = json.loads(out.getvalue())  # anyone can recompute the figures from the committed logits
        self.assertEqual(again["any_impairment"]["auc"], report["any_impairment"]["auc"])
        self.assertEqual(again["model"]["balanced_accuracy"], report["model"]["balanced_accuracy"])

        printed = self.run_protocol()
        self.assertNotIn("fold 1/5:", printed)  # every fold and the final model were kept
        self.assertIn("Saved", printed)

        (self.run_dir / "fold-0.npz").unlink()  # as if stopped after the fold's last epoch
        printed = self.run_protocol()
        self.assertIn("fold 1/5:", printed)
        self.assertIn("resumed after epoch 1", printed)
        self.assertNotIn("fold 2/5:", printed)

"""The shipped model (issue 3): loadable with torchvision alone, hash-checked, deterministic,
and measurable with ``evaluate_model``."""

import csv
import io
import json
import tempfile
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import torch
import torchvision
from django.conf import settings
from django.test import SimpleTestCase, tag
from PIL import Image

from mri import CLASSES, measures
from mri.inference.calibration import fit_temperature
from mri.inference.checkpoint import build_model, expected_sha256, save_checkpoint, sha256_of
from tests.base import drawn_brain_slice, training_command
from tests.slices import DATA_DIR
from training.evaluation import ece, metrics
from training.splits import subject_split

SHIPPED = Path(settings.BASE_DIR) / "models" / "alzaware-resnet50.pt"
DOCUMENTED_KEYS = {"state_dict", "classes", "input_size", "mean", "std", "temperature",
                   "preprocessing", "metadata"}
JSON_KEYS = {"accuracy", "balanced_accuracy", "macro_f1", "per_class_recall", "confusion_matrix",
             "subject_accuracy", "n", "ece", "any_impairment_auc", "any_impairment_balanced_accuracy",
             "measures", "headline", "outside_training", "any_impairment"}


def shipped_or_skip(test):
    # Committed with issue 9: its absence is a failure, not a reason to skip.
    test.assertTrue(SHIPPED.exists(), f"{SHIPPED} is missing")
    return SHIPPED


class ShippedCheckpointTests(SimpleTestCase):
    def test_it_loads_in_plain_torchvision_from_its_documented_keys(self):
        ckpt = torch.load(shipped_or_skip(self), map_location="cpu", weights_only=True)
        self.assertLessEqual(DOCUMENTED_KEYS, set(ckpt))
        self.assertEqual(list(ckpt["classes"]), list(CLASSES))
        model = torchvision.models.resnet50(weights=None, num_classes=len(ckpt["classes"]))
        model.load_state_dict({k: v.float() if v.is_floating_point() else v
                               for k, v in ckpt["state_dict"].items()})
        self.assertEqual(ckpt["state_dict"]["fc.weight"].dtype, torch.float16)
        meta = ckpt["metadata"]
        self.assertIs(meta["trained"], True)
        for key in ("data_fingerprint_sha256", "split", "cross_validation", "recipe", "date", "code_version"):
            self.assertIn(key, meta)
        self.assertGreater(ckpt["temperature"], 0)
        self.assertIn(ckpt["calibration"]["kind"], ("temperature", "vector"))
        self.assertIn("ood", ckpt)  # the detector is fitted into the shipped file
        self.assertTrue(ckpt["preprocessing"]["crop_to_brain"])
        self.assertEqual(ckpt["preprocessing"]["intensity"], "brain_zscore")
        self.assertLess(SHIPPED.stat().st_size, 50 * 1024 * 1024)

    def test_its_hash_matches_the_recorded_one(self):
        path = shipped_or_skip(self)
        self.assertEqual(sha256_of(path), expected_sha256(path))

    def test_a_prediction_on_a_training_slice_is_deterministic(self):
        path = shipped_or_skip(self)
        if not (DATA_DIR / "manifest.csv").exists():
            self.skipTest(f"{DATA_DIR} is absent: the training slices are not in the repository")
        from mri.inference.checkpoint import load_checkpoint
        from mri.inference.engine import Engine

        with open(DATA_DIR / "manifest.csv", newline="") as fh:
            row = next(r for r in csv.DictReader(fh) if r["slice"] == "16")
        gray = np.asarray(Image.open(DATA_DIR / row["path"]).convert("L"))
        engine = Engine(*load_checkpoint(path))
        first, second = engine.analyse(gray), engine.analyse(gray)
        np.testing.assert_array_equal(first.probabilities, second.probabilities)
        self.assertAlmostEqual(float(first.probabilities.sum()), 1.0, places=5)
        self.assertIn(first.prediction, CLASSES)


@tag("slow")  # python -m training evaluate_model on a drawn folder
class EvaluateModelCommandTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.TemporaryDirectory()
        root = Path(cls.tmp.name)
        if SHIPPED.exists():
            cls.model = SHIPPED
        else:  # an untrained stand-in with the same format
            torch.manual_seed(0)
            cls.model = save_checkpoint(build_model().eval(), root / "stand-in.pt", input_size=64)
        # Drawn slices, two "subjects" in each of two classes; the other two classes are absent.
        cls.plain = root / "plain"
        cls.with_manifest = root / "with-manifest"
        rows = []
        for label in CLASSES[:2]:
            for subject in range(2):
                for s in range(2):
                    seed = 10 * CLASSES.index(label) + 3 * subject + s
                    name = f"{label[:3].lower()}{subject}_s{s}.png"
                    for folder in (cls.plain / label, cls.with_manifest / "images" / label):
                        folder.mkdir(parents=True, exist_ok=True)
                        Image.fromarray(drawn_brain_slice(seed)).save(folder / name)
                    rows.append([f"images/{label}/{name}", label, f"{label[:3].lower()}{subject}", s])
        with open(cls.with_manifest / "manifest.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["path", "label", "subject", "slice"])
            writer.writerows(rows)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()
        super().tearDownClass()

    def run_json(self, folder):
        out = io.StringIO()
        with redirect_stdout(out):
            training_command("evaluate_model", "--data", str(folder), "--json", "--model", str(self.model),
                         "--no-baseline", stdout=out)
        return json.loads(out.getvalue())

    def test_json_has_the_documented_keys_without_subjects(self):
        report = self.run_json(self.plain)
        self.assertLessEqual(JSON_KEYS, set(report))
        self.assertEqual(report["n"], 8)
        self.assertIsNone(report["subject_accuracy"])
        self.assertEqual(len(report["confusion_matrix"]), len(CLASSES))
        # Absent classes are reported as None and left out of the averages.
        self.assertIsNone(report["per_class_recall"]["Mild Impairment"])
        recalls = [report["per_class_recall"][c] for c in CLASSES[:2]]
        self.assertAlmostEqual(report["balanced_accuracy"], sum(recalls) / 2)
        # Both sides of "any impairment" are there, so both figures exist.
        self.assertTrue(0 <= report["any_impairment_auc"] <= 1)
        self.assertTrue(0 <= report["any_impairment_balanced_accuracy"] <= 1)

    def test_json_gives_subject_accuracy_with_a_manifest(self):
        report = self.run_json(self.with_manifest)
        self.assertLessEqual(JSON_KEYS, set(report))
        self.assertEqual(report["n"], 8)
        self.assertEqual(report["n_subjects"], 4)
        self.assertTrue(0.0 <= report["subject_accuracy"] <= 1.0)

    def test_json_reads_the_measures_headline_and_any_impairment_per_slice_and_per_subject(self):
        report = self.run_json(self.with_manifest)
        self.assertEqual(list(report["measures"]), list(measures.KEYS))
        self.assertEqual(report["any_impairment"]["slice"]["n"], 8)
        self.assertEqual(report["any_impairment"]["subject"]["n"], 4)
        for level, count in (("slice", 8), ("subject", 4)):
            said = report["headline"][level]
            self.assertEqual(sum(said[c]["given"] for c in CLASSES) + said["cannot_tell"]["given"], count)
        self.assertEqual(set(report["headline"]["rule"]), {"min_margin", "no_impairment_below", "impaired_from"})


class MetricTests(SimpleTestCase):
    def test_absent_classes_are_left_out_of_the_averages(self):
        probs = np.eye(4)[[0, 0, 1, 2, 1]]  # predicted 0,0,1,2,1
        m = metrics([0, 0, 1, 1, 1], probs, ["a", "a", "b", "b", "b"])
        self.assertEqual(m["per_class_recall"]["No Impairment"], 1.0)
        self.assertAlmostEqual(m["per_class_recall"]["Very Mild Impairment"], 2 / 3)
        self.assertIsNone(m["per_class_recall"]["Mild Impairment"])
        self.assertAlmostEqual(m["balanced_accuracy"], (1 + 2 / 3) / 2)
        self.assertEqual(m["subject_accuracy"], 1.0)
        self.assertEqual(m["confusion_matrix"][1], [0, 2, 1, 0])

    def test_ece_is_zero_when_confidence_matches_accuracy(self):
        probs = np.array([[0.75, 0.25, 0, 0]] * 4)
        self.assertAlmostEqual(ece(probs, [0, 0, 0, 1]), 0.0)
        self.assertAlmostEqual(ece(probs, [1, 1, 1, 1]), 0.75)

    def test_temperature_softens_overconfident_logits(self):
        rng = np.random.default_rng(0)
        labels = rng.integers(0, 3, 400)
        logits = rng.normal(0, 1, (400, 4)) * 8
        logits[np.arange(400), labels] += 4  # right more often than chance, but far too sure
        self.assertGreater(fit_temperature(logits, labels), 1.5)

    def test_the_split_is_by_subject_stratified_and_keeps_tiny_classes_in_training(self):
        records = [{"label": c, "subject": f"{c}-{s}"} for c, n in ((0, 20), (1, 10), (3, 2))
                   for s in range(n) for _ in range(3)]
        train, val = subject_split(records, 0.2, seed=1)
        self.assertFalse(set(train) & set(val))
        self.assertEqual(sorted(s.split("-")[0] for s in val), ["0"] * 4 + ["1"] * 2)
        self.assertIn("3-0", train)
        self.assertEqual(subject_split(records, 0.2, seed=1), (train, val))

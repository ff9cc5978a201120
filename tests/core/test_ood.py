"""The out-of-distribution detector: its calibration, its place in the checkpoint, and `python -m training fit_ood`."""

import csv
import io
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from django.test import SimpleTestCase, tag
from PIL import Image

from mri.inference import ood
from mri.inference.checkpoint import load_checkpoint, sha256_of
from tests.base import training_command
from tests.fixtures import scan_files
from training.ood_fitting import acquisition_variant, split_subjects


def cloud(rng, count, dims=64, silent=0):
    """ReLU-like non-negative features, as pooled activations are; ``silent`` channels barely fire,
    a different pattern of activation (what a picture unlike the training slices gives)."""
    base = rng.gamma(2.0, 0.5, size=(count, dims))
    base[:, :silent] *= 0.05
    return base


class DetectorTests(SimpleTestCase):
    def setUp(self):
        rng = np.random.default_rng(0)
        self.train, self.validation, self.held_out = cloud(rng, 800), cloud(rng, 400), cloud(rng, 2000)
        self.far = cloud(rng, 200, silent=24)
        self.detector = ood.fit(self.train, self.validation)

    def test_at_least_99_percent_of_validation_slices_pass(self):
        self.assertGreaterEqual(self.detector.info["validation_pass_rate"], 0.99)
        self.assertLessEqual(self.detector.unsure_above, self.detector.refuse_above)

    def test_it_generalises_to_unseen_in_distribution_features_and_refuses_far_ones(self):
        held_out = self.detector.verdicts(self.held_out)
        self.assertGreaterEqual(1 - held_out.count(ood.OUT) / len(held_out), 0.98)
        far = self.detector.verdicts(self.far)
        self.assertEqual(far.count(ood.OUT), len(far))

    def test_real_brains_from_elsewhere_move_the_refusal_threshold_so_that_99_percent_pass(self):
        rng = np.random.default_rng(2)
        elsewhere = cloud(rng, 300, silent=6)  # real, but unlike the training slices
        before = self.detector.verdicts(elsewhere).count(ood.OUT)
        widened = ood.fit(self.train, self.validation, real_features=elsewhere)
        self.assertGreater(before, 3)
        self.assertGreaterEqual(widened.info["real_variety_pass_rate"], ood.REAL_PASS_RATE)
        self.assertGreater(widened.refuse_above, self.detector.refuse_above)
        self.assertEqual(widened.unsure_above, self.detector.unsure_above)  # the mark is still set on validation

    def test_it_survives_the_checkpoint_round_trip_with_weights_only(self):
        buffer = io.BytesIO()
        torch.save({"ood": self.detector.to_checkpoint()}, buffer)
        buffer.seek(0)
        stored = torch.load(buffer, weights_only=True)["ood"]
        again = ood.OodDetector.from_checkpoint(stored)
        np.testing.assert_allclose(again.distances(self.held_out[:50]), self.detector.distances(self.held_out[:50]),
                                   rtol=1e-5)
        self.assertIsNone(ood.OodDetector.from_checkpoint(None))

    def test_acquisition_variants_stay_axial_slices_the_usual_way_up(self):
        from mri.io import quality

        rng = np.random.default_rng(1)
        gray = scan_files.mni_axial()
        for _ in range(10):
            quality.check_slice(acquisition_variant(gray, rng))


@tag("slow")  # fits the detector with python -m training fit_ood
class FitOodCommandTests(SimpleTestCase):
    """End to end on a tiny data folder (template slices) and a fresh stand-in checkpoint."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.folder = Path(tempfile.mkdtemp(prefix="alzaware-fit-ood-"))
        data = cls.folder / "data"
        (data / "images").mkdir(parents=True)
        rows = []
        for subject in range(6):
            for position in range(4):
                name = f"images/s{subject}_{position}.jpg"
                gray = scan_files.mni_axial(subject * 3 + position - 8)
                Image.fromarray(gray).save(data / name, quality=95)
                rows.append({"path": name, "label": "No Impairment", "subject": f"s{subject}", "slice": position})
        with open(data / "manifest.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["path", "label", "subject", "slice"])
            writer.writeheader()
            writer.writerows(rows)
        cls.data = data
        cls.model = cls.folder / "model.pt"
        training_command("make_untrained_model", "--out", str(cls.model), "--input-size", "64", stdout=io.StringIO())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.folder, ignore_errors=True)
        super().tearDownClass()

    def fit(self):
        out = io.StringIO()
        training_command("fit_ood", "--data", str(self.data), "--model", str(self.model), "--no-measure",
                     "--no-real-variety", "--cache-dir", "", "--train-stride", "1", stdout=out)
        return out.getvalue()

    def test_it_adds_the_detector_keeps_every_other_key_and_rewrites_the_hash(self):
        before = torch.load(self.model, weights_only=True)
        output = self.fit()
        after = torch.load(self.model, weights_only=True)
        self.assertEqual(set(after), set(before) | {"ood"})
        for key in before:
            if key != "state_dict":
                self.assertEqual(after[key], before[key], key)
        for name, tensor in before["state_dict"].items():
            self.assertTrue(torch.equal(after["state_dict"][name], tensor), name)
        self.assertIn(sha256_of(self.model), Path(f"{self.model}.sha256").read_text())
        load_checkpoint(self.model)  # the hash check passes
        detector = ood.OodDetector.from_checkpoint(after["ood"])
        self.assertGreaterEqual(detector.info["validation_pass_rate"], 0.99)
        self.assertIn("made here by subject", output)
        self.assertIn("validation slices passing", output)

        # Rerunnable: the second fit replaces the first and gives the same thresholds.
        self.fit()
        again = torch.load(self.model, weights_only=True)
        self.assertEqual(set(again), set(after))
        self.assertEqual(again["ood"]["refuse_above"], after["ood"]["refuse_above"])

    def test_it_uses_the_split_recorded_in_the_checkpoint(self):
        rows = [{"subject": s} for s in ("a", "b", "c", "d")]
        training, validation, source = split_subjects(rows, {"split": {"train_subjects": ["a", "b"],
                                                                       "val_subjects": ["c"]}})
        self.assertEqual((training, validation, source), ({"a", "b"}, {"c"}, "checkpoint metadata"))
        training, validation, _ = split_subjects(rows, {"split": {"val_subjects": ["d"]}})
        self.assertEqual((training, validation), ({"a", "b", "c"}, {"d"}))

    def test_without_a_recorded_split_it_holds_out_whole_subjects_of_each_class(self):
        rows = [{"subject": f"{label}-{s}", "label": label} for label in (0, 1) for s in range(10) for _ in range(3)]
        training, validation, source = split_subjects(rows, {"validation_subjects": ["0-1"]}, 0.2)
        self.assertEqual(source, "made here by subject (the checkpoint records none)")
        self.assertEqual(sorted(s.split("-")[0] for s in validation), ["0", "0", "1", "1"])
        self.assertEqual(training | validation, {row["subject"] for row in rows})
        self.assertFalse(training & validation)

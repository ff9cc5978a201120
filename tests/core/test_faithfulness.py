"""The faithfulness score itself: on a toy "model" whose evidence is known, then on the app's model."""

import numpy as np
import torch
from django.conf import settings
from django.test import SimpleTestCase

from mri.explain import faithfulness as F
from mri.inference.engine import get_engine
from tests.slices import brain_slices

SIZE = 64


def textured_input(seed=0):
    """A (3, S, S) input with fine texture everywhere, so blurring any region changes it."""
    rng = np.random.default_rng(seed)
    plane = rng.normal(0, 1, (SIZE, SIZE)).astype(np.float32)
    return torch.from_numpy(np.repeat(plane[None], 3, axis=0))


def detail_detector(top, left, side):
    """A "model" whose class 0 probability rises with fine detail inside one square, and nowhere else."""
    def predict(batch):
        patch = batch[:, 0, top:top + side, left:left + side]
        detail = patch.std(dim=(1, 2))
        p = torch.sigmoid(4 * (detail - 0.5))
        return torch.stack([p, 1 - p], dim=1)
    return predict


def cam_peaking_at(y, x, grid=8):
    yy, xx = np.mgrid[0:grid, 0:grid]
    return np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / 2.0).astype(np.float32)


class ToyModelTests(SimpleTestCase):
    def setUp(self):
        self.x = textured_input()
        # The evidence lives in the top-left quarter of the image.
        self.predict = detail_detector(4, 4, 20)
        self.base = float(self.predict(self.x[None])[0, 0])

    def test_a_map_on_the_evidence_scores_strongly(self):
        result = F.faithfulness(self.predict, self.x, cam_peaking_at(1.5, 1.5), 0, self.base)
        self.assertEqual(result.verdict, "strongly", result)

    def test_a_map_away_from_the_evidence_scores_no_better_than_random(self):
        result = F.faithfulness(self.predict, self.x, cam_peaking_at(6.5, 6.5), 0, self.base)
        self.assertEqual(result.verdict, "not", result)

    def test_the_hottest_region_is_a_fifth_of_the_image(self):
        mask = F.hottest_mask(cam_peaking_at(3, 3), SIZE)
        self.assertEqual(int(mask.sum()), round(0.2 * SIZE * SIZE))
        self.assertTrue(mask[3 * SIZE // 8, 3 * SIZE // 8])
        for random_mask in F.random_masks(np.ones((SIZE, SIZE), bool)):
            self.assertAlmostEqual(random_mask.mean(), 0.2, delta=0.01)

    def test_the_hottest_region_is_taken_inside_the_brain_where_the_map_is_drawn(self):
        inside = np.zeros((SIZE, SIZE), bool)
        inside[SIZE // 2:, SIZE // 2:] = True
        mask = F.hottest_mask(cam_peaking_at(1, 1), SIZE, inside=inside)
        self.assertEqual(int(mask.sum()), round(0.2 * SIZE * SIZE))
        self.assertFalse((mask & ~inside).any())

    def test_a_flat_map_has_no_score(self):
        self.assertIsNone(F.faithfulness(self.predict, self.x, np.zeros((8, 8), np.float32), 0, self.base))
        self.assertIsNone(F.verdict(None))


class AppModelTests(SimpleTestCase):
    def test_the_score_uses_one_batch_of_four_and_is_the_same_every_time(self):
        engine = get_engine(settings.ALZAWARE_MODEL_PATH)
        analysis = engine.analyse(brain_slices(20)[0][1])
        batches = []

        def counting(batch):
            batches.append(batch.shape[0])
            return engine.probabilities(batch)

        index = analysis.predicted_index
        first = F.faithfulness(counting, analysis.tensor, analysis.maps[index], index, analysis.probabilities[index],
                               inside=analysis.input_brain)
        self.assertEqual(batches, [4])
        self.assertIsNotNone(first)
        self.assertEqual(engine.faithfulness(analysis), first)

    def test_the_perturbed_probabilities_are_the_served_passes_without_its_maps(self):
        engine = get_engine(settings.ALZAWARE_MODEL_PATH)
        batch = torch.stack([engine.prepare(gray)[0] for _, gray in brain_slices(20)[:4]])
        with torch.inference_mode():
            served = engine.calibrated(engine.run(batch)[0])
        # The served engine is ONNX Runtime's where its export is current (make builds it); its probabilities
        # differ from eager float32's by ~1e-6 (tests/core/test_engines.py).
        np.testing.assert_allclose(engine.probabilities(batch).numpy(), served.numpy(), rtol=0, atol=1e-4)

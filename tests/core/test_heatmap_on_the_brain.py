"""The heatmap lies on the brain: the analysis keeps where a map may be drawn (the app's brain mask and its
surface), the stored maps draw only there, and the deletion test takes its hottest region there."""

import io

import numpy as np
from django.conf import settings
from django.test import SimpleTestCase
from PIL import Image

from mri.explain import explanations
from mri.inference.engine import get_engine
from mri.inference.preprocess import SURFACE_MARGIN, brain_mask, map_region, to_square
from tests.slices import brain_slices


class MapRegionTests(SimpleTestCase):
    def test_the_region_is_the_brain_mask_widened_by_the_surface_margin(self):
        gray = np.zeros((100, 100), np.uint8)
        gray[30:70, 30:70] = 200
        region = map_region(gray, side=80)
        radius = int(round(SURFACE_MARGIN * 80))
        self.assertTrue((region & brain_mask(gray) == brain_mask(gray)).all())
        self.assertTrue(region[50, 30 - radius] and not region[50, 30 - radius - 1])

    def test_a_blank_image_has_no_region(self):
        self.assertFalse(map_region(np.zeros((40, 40), np.uint8)).any())


class BrainConfinedMapTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.engine = get_engine(settings.ALZAWARE_MODEL_PATH)
        cls.gray = brain_slices(20)[0][1]
        cls.analysis = cls.engine.analyse(cls.gray)
        cls.region = map_region(cls.gray, cls.analysis.geometry.side)

    def test_the_analysis_keeps_the_region_on_the_image_and_on_the_input(self):
        np.testing.assert_array_equal(self.analysis.brain, self.region)
        square, _ = to_square(self.gray, self.engine.input_size, self.engine.spec)
        np.testing.assert_array_equal(self.analysis.input_brain, map_region(square, self.engine.input_size))

    def test_the_stored_maps_are_drawn_on_the_brain_and_its_surface_only(self):
        stored = explanations.from_npz(explanations.to_npz(explanations.from_analysis(self.analysis)))
        np.testing.assert_array_equal(stored.brain, self.region)
        seen = stored.seen()
        self.assertTrue(seen.any())
        self.assertFalse((seen & ~self.region).any())

    def test_the_overlay_leaves_the_background_around_the_brain_uncoloured(self):
        stored = explanations.from_analysis(self.analysis)
        rgb = np.asarray(Image.open(io.BytesIO(explanations.overlay_png(self.gray, stored))).convert("RGB")).astype(int)
        outside = rgb[~self.region]
        np.testing.assert_array_equal(outside[:, 0], outside[:, 2])
        np.testing.assert_array_equal(outside[:, 1], outside[:, 2])

    def test_the_deletion_test_blurs_a_region_on_the_brain(self):
        from mri.explain.faithfulness import hottest_mask

        index = self.analysis.predicted_index
        hot = hottest_mask(self.analysis.maps[index], self.engine.input_size, inside=self.analysis.input_brain)
        self.assertFalse((hot & ~self.analysis.input_brain).any())

    def test_maps_saved_before_the_region_was_kept_still_load_and_cover_what_the_network_saw(self):
        stored = explanations.from_analysis(self.analysis)
        stored.brain = None
        old = explanations.from_npz(explanations.to_npz(stored))
        self.assertIsNone(old.brain)
        self.assertGreater(int(old.seen().sum()), int(self.region.sum()))

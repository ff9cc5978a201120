"""The atrophy measures (mri.measures): ratios on the app's brain mask, whatever the pixel size or scale."""

import math

import cv2
import numpy as np
from django.test import SimpleTestCase

from mri import measures

CSF, GREY, WHITE = 40, 120, 200


def drawn_brain(ventricle=(18, 30), sulci=6, size=200, noise=3.0, seed=0):
    """An axial-like slice: a head of grey matter around white matter, a dark ventricle of ``ventricle`` half
    axes in the middle and ``sulci`` dark furrows cut in from the edge."""
    image = np.zeros((size, size), np.float32)
    c = size // 2
    cv2.ellipse(image, (c, c), (int(size * 0.38), int(size * 0.45)), 0, 0, 360, GREY, -1)
    cv2.ellipse(image, (c, c), (int(size * 0.28), int(size * 0.35)), 0, 0, 360, WHITE, -1)
    cv2.ellipse(image, (c, c), ventricle, 0, 0, 360, CSF, -1)
    for k in range(sulci):
        angle = 2 * np.pi * k / max(sulci, 1)
        x, y = c + int(size * 0.36 * np.cos(angle)), c + int(size * 0.43 * np.sin(angle))
        cv2.circle(image, (x, y), max(2, size // 40), CSF, -1)
    image += np.random.default_rng(seed).normal(0, noise, image.shape) * (image > 0)
    return np.uint8(np.clip(np.round(image), 0, 255))


class SliceMeasureTests(SimpleTestCase):
    def test_the_keys_are_the_published_ones_in_order(self):
        self.assertEqual(measures.KEYS, ("csf_fraction", "central_csf_fraction", "peripheral_csf_fraction",
                                         "medial_temporal_csf"))
        self.assertEqual(set(measures.measure_slice(drawn_brain())), set(measures.KEYS))

    def test_the_csf_fraction_is_the_dark_share_of_the_drawn_head(self):
        gray = drawn_brain(sulci=0, noise=0.0)
        expected = float((gray == CSF).sum()) / float((gray > 0).sum())
        self.assertAlmostEqual(measures.measure_slice(gray)["csf_fraction"], expected, places=3)

    def test_a_wider_ventricle_raises_the_central_fraction_more_than_the_peripheral(self):
        small = measures.measure_slice(drawn_brain(ventricle=(10, 18)))
        large = measures.measure_slice(drawn_brain(ventricle=(24, 38)))
        self.assertGreater(large["csf_fraction"], small["csf_fraction"])
        self.assertGreater(large["central_csf_fraction"] - small["central_csf_fraction"],
                           large["peripheral_csf_fraction"] - small["peripheral_csf_fraction"])

    def test_wider_furrows_raise_the_peripheral_fraction(self):
        few, many = measures.measure_slice(drawn_brain(sulci=4)), measures.measure_slice(drawn_brain(sulci=16))
        self.assertGreater(many["peripheral_csf_fraction"], few["peripheral_csf_fraction"])

    def test_pixel_size_and_intensity_scale_leave_the_measures_almost_unchanged(self):
        gray = drawn_brain()
        base = measures.measure_slice(gray, low=True)
        half = cv2.resize(gray, (100, 100), interpolation=cv2.INTER_AREA)
        dimmer = np.uint8(np.round(gray.astype(np.float32) * 0.6))
        for changed in (measures.measure_slice(half, low=True), measures.measure_slice(dimmer, low=True)):
            for key in measures.KEYS:
                # Half the pixels blur thin furrows into their edges a little (partial volume).
                self.assertLess(abs(changed[key] - base[key]), 0.04, key)

    def test_a_coil_shading_across_the_head_leaves_the_measures_almost_unchanged(self):
        # Intensity doubling from the left edge to the right, as an uncorrected bias field does: a threshold on
        # plain intensity called the bright side's grey matter fluid (surface fraction up by a quarter).
        gray = cv2.GaussianBlur(drawn_brain(sulci=12, noise=4.0), (0, 0), 1.0)
        columns = np.mgrid[0:gray.shape[0], 0:gray.shape[1]][1] / gray.shape[1]
        shaded = np.uint8(np.clip(np.round(gray * np.exp(0.5 * (2 * columns - 1))), 0, 255))
        base, changed = measures.measure_slice(gray, low=True), measures.measure_slice(shaded, low=True)
        for key in measures.KEYS:
            self.assertLess(abs(changed[key] - base[key]), 0.02, key)

    def test_a_slice_without_brain_has_no_measures(self):
        values = measures.measure_slice(np.zeros((64, 64), np.uint8))
        self.assertTrue(all(math.isnan(v) for v in values.values()))

    def test_the_medial_temporal_measure_needs_a_low_slice(self):
        self.assertTrue(math.isnan(measures.measure_slice(drawn_brain())["medial_temporal_csf"]))
        self.assertFalse(math.isnan(measures.measure_slice(drawn_brain(), low=True)["medial_temporal_csf"]))

    def test_it_refuses_a_colour_array(self):
        with self.assertRaises(ValueError):
            measures.measure_slice(np.zeros((8, 8, 3), np.uint8))


class BandMeasureTests(SimpleTestCase):
    def test_a_band_averages_its_slices_and_reads_the_medial_temporal_measure_low_down(self):
        grays = [drawn_brain(ventricle=(10 + 2 * k, 20 + 2 * k), seed=k) for k in range(6)]
        band = measures.measure_band(grays, positions=[float(k) for k in range(6)])
        each = [measures.measure_slice(g, low=True) for g in grays]
        self.assertAlmostEqual(band["csf_fraction"], float(np.mean([m["csf_fraction"] for m in each])))
        # positions 0..5: the lowest third is 0 and 1
        self.assertAlmostEqual(band["medial_temporal_csf"],
                               float(np.mean([m["medial_temporal_csf"] for m in each[:2]])))

    def test_positions_decide_which_slices_are_low_whatever_their_order(self):
        grays = [drawn_brain(ventricle=(10 + 4 * k, 20 + 4 * k), seed=k) for k in range(3)]
        upward = measures.measure_band(grays, positions=[0.0, 10.0, 20.0])
        downward = measures.measure_band(grays[::-1], positions=[20.0, 10.0, 0.0])
        self.assertAlmostEqual(upward["medial_temporal_csf"], downward["medial_temporal_csf"])

    def test_one_slice_has_no_band_bottom(self):
        self.assertTrue(math.isnan(measures.measure_band([drawn_brain()])["medial_temporal_csf"]))


REFERENCE = {"No Impairment": {"p5": 0.15, "q1": 0.20, "median": 0.23, "q3": 0.26, "p95": 0.30, "n": 80},
             "Any impairment": {"p5": 0.19, "q1": 0.24, "median": 0.28, "q3": 0.31, "p95": 0.36, "n": 80}}


class ReferenceTests(SimpleTestCase):
    def test_a_checkpoint_without_a_reference_gives_an_empty_one(self):
        self.assertEqual(measures.reference_from_checkpoint({"classes": []}), {})
        self.assertEqual(measures.place(0.2, {}), {})

    def test_it_reads_the_stored_reference_as_plain_numbers(self):
        stored = {"csf_fraction": REFERENCE, "not_a_measure": REFERENCE}
        self.assertEqual(measures.reference_from_checkpoint({"measures_reference": stored}),
                         {"csf_fraction": REFERENCE})

    def test_it_places_a_value_among_both_groups(self):
        placed = measures.place(0.26, REFERENCE)
        self.assertEqual(placed["axis"], [0.15, 0.36])
        self.assertAlmostEqual(placed["position"], (0.26 - 0.15) / 0.21)
        self.assertAlmostEqual(placed["groups"]["No Impairment"]["percentile"], 75.0)
        self.assertAlmostEqual(placed["groups"]["Any impairment"]["percentile"], 37.5)

    def test_percentiles_rise_with_the_value_and_stay_within_0_and_100(self):
        values = [0.0, 0.1, 0.2, 0.25, 0.3, 0.5, 1.0]
        placed = [measures.place(v, REFERENCE)["groups"]["No Impairment"]["percentile"] for v in values]
        self.assertEqual(placed, sorted(placed))
        self.assertEqual((placed[0], placed[-1]), (0.0, 100.0))

    def test_an_undefined_value_keeps_the_ranges_but_has_no_place(self):
        placed = measures.place(float("nan"), REFERENCE)
        self.assertIsNone(placed["position"])
        self.assertEqual(placed["groups"]["No Impairment"]["median"], 0.23)

"""What patients and doctors see of the explanations: overlays, colour maps, class switching, faithfulness."""

from unittest import mock

import cv2
import numpy as np
from django.test import SimpleTestCase
from django.urls import reverse
from PIL import Image

from accounts.models import Patient
from assessments.models import Assessment
from assessments.tasks import score_faithfulness
from mri import CLASSES
from mri.explain import explanations
from mri.explain.overlay import COLOUR_MAPS, colourise
from tests.base import AlzAwareTestCase, image_bytes, rgb_of, upload
from tests.slices import brain_slices


class ExplanationPageTests(AlzAwareTestCase):
    def setUp(self):
        super().setUp()

    def submit(self, seed=0):
        self.login(self.patient.user)
        gray = brain_slices(20)[seed][1]
        self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(gray))})
        return Assessment.objects.latest("pk")

    def hottest_pixel(self, assessment, png, class_index=None):
        """The overlay's colour where the class's map is hottest, and the scan's gray there."""
        maps = explanations.from_npz(assessment.maps.open("rb").read())
        index = maps.predicted_index if class_index is None else class_index
        heat = maps.map_on_image(index)
        y, x = np.unravel_index(np.argmax(heat), heat.shape)
        scan = np.asarray(Image.open(assessment.scan.open("rb")).convert("L")).astype(int)
        return rgb_of(png)[y, x], scan[y, x]

    def test_it_renders_the_hottest_region_red(self):
        assessment = self.submit()
        self.assertEqual(assessment.overlay_colour_map, "jet")
        (r, g, b), gray = self.hottest_pixel(assessment, assessment.overlay.read())
        # JET's top colour is dark red; blended at 40% it lifts red by about 51 over the gray scan.
        # Stored in BGR order by mistake, it would lift blue instead.
        self.assertGreater(r - b, 40, (r, g, b))
        self.assertGreater(r - g, 40, (r, g, b))
        self.assertAlmostEqual(b, 0.6 * gray, delta=2)

    def test_the_overlay_leaves_what_the_network_never_saw_uncoloured(self):
        # The brain sits in the top-left of a wide black sheet: the crop around it leaves most of
        # the sheet out, and an overlay that coloured it would call it "low importance".
        brain = brain_slices(20)[0][1]
        sheet = np.zeros((brain.shape[0], brain.shape[1] + 224), np.uint8)
        sheet[:, :brain.shape[1]] = brain
        self.login(self.patient.user)
        self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(sheet))})
        assessment = Assessment.objects.latest("pk")
        seen = explanations.from_npz(assessment.maps.open("rb").read()).seen()
        self.assertTrue(seen.any() and not seen.all())
        rgb = rgb_of(assessment.overlay.read()).astype(int)
        outside, inside = rgb[~seen], rgb[seen]
        np.testing.assert_array_equal(outside[:, 0], outside[:, 2])  # plain gray: R == G == B
        np.testing.assert_array_equal(outside[:, 1], outside[:, 2])
        self.assertGreater(np.abs(inside[:, 0] - inside[:, 2]).max(), 40)

    def test_the_chosen_colour_map_is_remembered_and_used_for_new_overlays(self):
        self.login(self.patient.user)
        page = self.client.get(reverse("assessments:history"))
        self.assertContains(page, reverse("preferences"))
        response = self.client.post(reverse("preferences"), {"colour_map": "viridis"})
        self.assertRedirects(response, reverse("preferences"))
        self.assertEqual(Patient.objects.get(pk=self.patient.pk).colour_map, "viridis")
        self.assertEqual(self.client.get(reverse("preferences")).context["form"]["colour_map"].value(), "viridis")

        assessment = self.submit(1)
        self.assertEqual(assessment.overlay_colour_map, "viridis")
        pixel, gray = self.hottest_pixel(assessment, assessment.overlay.read())
        top = colourise(np.ones((1, 1)), "viridis")[0, 0].astype(int)  # yellow
        np.testing.assert_allclose(pixel, 0.6 * gray + 0.4 * top, atol=2)
        page = self.client.get(assessment.get_absolute_url())
        self.assertContains(page, reverse("assessments:colour_bar", args=["viridis"]))
        bar = self.client.get(reverse("assessments:colour_bar", args=["viridis"]))
        self.assertEqual(bar["Content-Type"], "image/png")
        np.testing.assert_array_equal(rgb_of(bar.content)[0, 0], top)

    def test_the_viewer_switches_class_and_colour_map_without_running_the_model(self):
        assessment = self.submit(2)
        other = (CLASSES.index(assessment.prediction) + 1) % len(CLASSES)
        url = reverse("assessments:class_overlay", args=[assessment.pk, other, "cividis"])
        # Any forward pass from here on fails the test.
        with mock.patch("mri.inference.engine.Engine.run", side_effect=AssertionError("model re-run")), \
                mock.patch("mri.inference.engine.Engine.probabilities", side_effect=AssertionError("model re-run")):
            page = self.client.get(assessment.get_absolute_url(), {"klass": other, "colour_map": "cividis"})
            self.assertContains(page, url)
            self.assertContains(page, f"Heatmap Overlay: {CLASSES[other]}")
            self.assertContains(page, reverse("assessments:colour_bar", args=["cividis"]))
            image = self.client.get(url)
        self.assertEqual(image.status_code, 200)
        self.assertEqual(image["Content-Type"], "image/png")
        gray = cv2.imdecode(np.frombuffer(assessment.scan.open("rb").read(), np.uint8), cv2.IMREAD_GRAYSCALE)
        expected = explanations.overlay_png(gray, explanations.from_npz(assessment.maps.open("rb").read()),
                                            class_index=other, colour_map="cividis")
        np.testing.assert_array_equal(rgb_of(image.content), rgb_of(expected))
        self.assertFalse(np.array_equal(rgb_of(image.content), rgb_of(assessment.overlay.open("rb").read())))

        # The old URL, the API's heatmap_url, still serves the stored overlay.
        stored = self.client.get(reverse("assessments:file", args=[assessment.pk, "overlay"]))
        self.assertEqual(stored.status_code, 200)
        for bad in (reverse("assessments:class_overlay", args=[assessment.pk, len(CLASSES), "jet"]),
                    reverse("assessments:class_overlay", args=[assessment.pk, 0, "rainbow"])):
            self.assertEqual(self.client.get(bad).status_code, 404)

        # The same access check as the scan: another patient gets 404, the patient's doctor the image.
        self.login(self.other_patient.user)
        self.assertEqual(self.client.get(url).status_code, 404)
        self.login(self.doctor)
        self.assertEqual(self.client.get(url).status_code, 200)

    def test_faithfulness_is_worked_out_after_the_response_then_shown_to_the_patient_and_the_doctor(self):
        assessment = self.submit(3)
        self.assertIsNone(assessment.faithfulness)
        self.assertContains(self.client.get(assessment.get_absolute_url()), "We are still checking")
        score_faithfulness.call(assessment.pk)
        assessment.refresh_from_db()
        self.assertIsNotNone(assessment.faithfulness)
        words = assessment.faithfulness_verdict()
        self.assertIn(words, ["strongly", "weakly", "not more than a random region"])
        page = self.client.get(assessment.get_absolute_url())
        self.assertContains(page, assessment.faithfulness_in_plain_words())
        self.assertContains(page, "How we checked the coloured parts")
        self.login(self.doctor)
        admin_page = self.client.get(reverse("admin:assessments_assessment_change", args=[assessment.pk]))
        self.assertContains(admin_page, f"{assessment.faithfulness:.2f}× random: {words}")

    def test_the_absolute_scale_is_shared_by_all_the_patients_visits(self):
        first, second = self.submit(5), self.submit(6)
        maxima = {a.pk: explanations.from_npz(a.maps.open("rb").read()).map_max for a in (first, second)}
        # A class whose map is not flat on either visit (a trained model can leave a class's map all zero).
        index = int(np.argmax(np.minimum(maxima[first.pk], maxima[second.pk])))
        peaks = {pk: float(values[index]) for pk, values in maxima.items()}
        self.assertGreater(min(peaks.values()), 0)
        low, high = sorted((first, second), key=lambda a: peaks[a.pk])
        self.assertLess(peaks[low.pk], peaks[high.pk])
        page = self.client.get(low.get_absolute_url(), {"klass": index, "colour_map": "jet", "scale": "absolute"})
        url = reverse("assessments:class_overlay", args=[low.pk, index, "jet"]) + "?scale=absolute"
        self.assertContains(page, url)
        self.assertContains(page, "one scale for all your scans")
        png = self.client.get(url).content
        pixel, gray = self.hottest_pixel(low, png, index)
        # The lower visit's peak is drawn at its share of the patient's highest peak, not at the top colour.
        expected = colourise(np.array([[peaks[low.pk] / peaks[high.pk]]]), "jet")[0, 0]
        np.testing.assert_allclose(pixel, 0.6 * gray + 0.4 * expected, atol=2)
        top = colourise(np.ones((1, 1)), "jet")[0, 0]
        relative, _ = self.hottest_pixel(low, self.client.get(url.split("?")[0]).content, index)
        np.testing.assert_allclose(relative, 0.6 * gray + 0.4 * top, atol=2)
        # The hottest visit reaches the top colour on the shared scale too.
        hottest_url = reverse("assessments:class_overlay", args=[high.pk, index, "jet"]) + "?scale=absolute"
        pixel, gray = self.hottest_pixel(high, self.client.get(hottest_url).content, index)
        np.testing.assert_allclose(pixel, 0.6 * gray + 0.4 * top, atol=2)

    def test_an_assessment_without_stored_maps_keeps_its_overlay_and_offers_no_switch(self):
        # As rows made before maps were stored: the overlay stays, switching has nothing to draw from.
        self.login(self.patient.user)
        assessment = Assessment.objects.create(
            patient=self.patient, scan="scans/old.png", overlay="heatmaps/old.png", prediction=CLASSES[0],
            confidence=0.7, probabilities={name: 0.1 for name in CLASSES} | {CLASSES[0]: 0.7},
        )
        page = self.client.get(assessment.get_absolute_url(), {"klass": 1, "colour_map": "inferno"})
        self.assertContains(page, reverse("assessments:file", args=[assessment.pk, "overlay"]))
        self.assertNotContains(page, 'class="explanation-choice"')
        self.assertNotContains(page, "The highlighted region matters")
        url = reverse("assessments:class_overlay", args=[assessment.pk, 1, "inferno"])
        self.assertEqual(self.client.get(url).status_code, 404)


class ColourMapVocabularyTests(SimpleTestCase):
    def test_every_colour_map_a_patient_can_choose_is_one_the_overlay_can_draw(self):
        self.assertEqual([value for value, _ in Patient.ColourMap.choices], list(COLOUR_MAPS))

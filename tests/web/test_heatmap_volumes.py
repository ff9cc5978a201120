"""A NIfTI upload's heatmap volume: every band level's map on the uploaded file's own voxel grid."""

import gzip
import json
from unittest import mock

import nibabel as nib
import numpy as np
from django.core.files.storage import default_storage
from django.test import SimpleTestCase
from django.urls import reverse

from assessments.models import Assessment, AssessmentSlice
from assessments.sweeper import remove_orphan_files
from assessments.tasks import draw_volume_heatmap
from assessments.volumes import band_from_npz
from mri import CLASSES
from mri.explain import explanations
from mri.explain.overlay import colourise, lookup_table
from mri.io.nifti import BAND_SLICES, axial_image, from_axial_image
from tests.base import AlzAwareTestCase, image_bytes, upload
from tests.fixtures import scan_files
from tests.slices import brain_slices


def as_image(response):
    data = b"".join(response.streaming_content)
    return nib.Nifti1Image.from_bytes(gzip.decompress(data))


class AxialInverseTests(SimpleTestCase):
    def test_from_axial_image_undoes_axial_image(self):
        plane = np.arange(12 * 7, dtype=np.float32).reshape(12, 7)  # x by y, no symmetry
        np.testing.assert_array_equal(from_axial_image(axial_image(plane, (1.0, 1.0)), plane.shape), plane)

    def test_it_undoes_the_square_pixel_resize_of_an_anisotropic_plane(self):
        plane = np.zeros((40, 20), np.float32)
        plane[5:10, 12:16] = 200.0
        shown = axial_image(plane.astype(np.uint8), (1.0, 2.0))
        self.assertEqual(shown.shape, (40, 40))
        back = from_axial_image(shown, plane.shape)
        self.assertEqual(back.shape, plane.shape)
        self.assertEqual(tuple(np.argwhere(back > 100).min(axis=0)), (5, 12))


class HeatmapVolumeTests(AlzAwareTestCase):
    def submit(self, data, name="brain.nii.gz"):
        self.login(self.patient.user)
        self.client.post(reverse("assessments:new"), {"scan": upload(data, name, "application/gzip")})
        assessment = Assessment.objects.latest("pk")
        # The task worker draws the volume after the response (assessments.tasks.draw_volume_heatmap).
        self.assertTrue(draw_volume_heatmap.call(assessment.pk))
        return assessment

    def heat_of(self, assessment):
        response = self.client.get(reverse("assessments:volume_file", args=[assessment.pk, "heatmap"]))
        self.assertEqual(response.status_code, 200)
        return as_image(response)

    def test_the_heatmap_volume_fills_the_band_on_the_files_own_grid(self):
        template = scan_files.mni_volume(2)
        assessment = self.submit(scan_files.mni_nifti_bytes(2, compressed=True))
        heat = self.heat_of(assessment)
        self.assertEqual(heat.shape, template.shape)
        np.testing.assert_allclose(heat.affine, template.affine)
        levels = np.flatnonzero(np.asarray(heat.dataobj).any(axis=(0, 1)))
        # Every level of the band (20 at 2 mm), contiguous: a volume, not the nine chosen planes.
        self.assertGreater(len(levels), BAND_SLICES)
        self.assertEqual(list(levels), list(range(levels[0], levels[-1] + 1)))

    def test_the_shown_slices_map_is_its_level_of_the_volume(self):
        assessment = self.submit(scan_files.mni_nifti_bytes(2, compressed=True))
        heat = np.asarray(self.heat_of(assessment).dataobj)
        shown = assessment.slices.get(representative=True)
        stored = explanations.from_npz(assessment.maps.open("rb").read())
        index = CLASSES.index(assessment.prediction)
        on_image = np.where(stored.seen(), stored.map_on_image(index), 0.0)
        np.testing.assert_allclose(heat[:, :, shown.position], from_axial_image(on_image, heat.shape[:2]),
                                   rtol=1e-5, atol=1e-7)

    def test_a_flipped_file_gets_its_heatmap_in_its_own_flipped_grid(self):
        template = scan_files.mni_volume(2)
        flip = np.diag([-1.0, 1.0, 1.0, 1.0])
        flip[0, 3] = template.shape[0] - 1
        # The same brain stored right-to-left (LAS): the same world, the first voxel axis reversed.
        las = scan_files.nifti_bytes(scan_files.mni_array(2)[::-1].copy(), template.affine @ flip, compressed=True)
        ras_heat = np.asarray(self.heat_of(self.submit(scan_files.mni_nifti_bytes(2, compressed=True))).dataobj)
        las_image = self.heat_of(self.submit(las, "las.nii.gz"))
        np.testing.assert_allclose(las_image.affine, template.affine @ flip)
        np.testing.assert_allclose(np.asarray(las_image.dataobj)[::-1], ras_heat, rtol=1e-5, atol=1e-7)

    def test_the_scan_volume_has_a_fresh_header(self):
        template = scan_files.mni_volume(2)
        image = nib.Nifti1Image(np.asarray(scan_files.mni_array(2)), template.affine)
        image.header["descrip"] = b"Testperson Hermione"
        data = gzip.compress(image.to_bytes())
        assessment = self.submit(data)
        response = self.client.get(reverse("assessments:volume_file", args=[assessment.pk, "scan"]))
        scan = as_image(response)
        self.assertEqual(scan.shape, template.shape)
        self.assertEqual(scan.get_data_dtype(), np.uint8)
        self.assertNotIn(b"Testperson", scan.header["descrip"].tobytes())

    def test_volume_files_have_the_assessment_pages_access(self):
        assessment = self.submit(scan_files.mni_nifti_bytes(2, compressed=True))
        url = reverse("assessments:volume_file", args=[assessment.pk, "heatmap"])
        self.assertEqual(url, assessment.get_absolute_url() + "heatmap.nii.gz")
        response = self.client.get(url)
        self.assertEqual(response["Content-Disposition"], 'attachment; filename="heatmap.nii.gz"')
        self.assertEqual(response["Cache-Control"], "private, no-store")
        self.assertNotIn("Content-Encoding", response)
        self.login(self.other_patient.user)
        self.assertEqual(self.client.get(url).status_code, 404)
        self.login(self.doctor)
        self.assertEqual(self.client.get(url).status_code, 200)

    def test_a_single_slice_has_no_volume(self):
        self.login(self.patient.user)
        self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(brain_slices(20)[0][1]))})
        assessment = Assessment.objects.latest("pk")
        self.assertEqual(assessment.heatmap_volume.name, "")
        url = reverse("assessments:volume_file", args=[assessment.pk, "heatmap"])
        self.assertEqual(self.client.get(url).status_code, 404)
        self.assertNotContains(self.client.get(assessment.get_absolute_url()), "heatmap.nii.gz")


class VolumeViewerPageTests(AlzAwareTestCase):
    def test_the_volume_result_page_carries_the_viewer_in_static_files_only(self):
        self.login(self.patient.user)
        self.client.post(reverse("assessments:new"),
                         {"scan": upload(scan_files.mni_nifti_bytes(2, compressed=True), "b.nii.gz", "application/gzip")})
        assessment = Assessment.objects.latest("pk")
        draw_volume_heatmap.call(assessment.pk)
        page = self.client.get(assessment.get_absolute_url(), {"klass": 0, "colour_map": "viridis", "scale": "relative"})
        html = page.content.decode()
        self.assertContains(page, 'id="volume-viewer"')
        self.assertContains(page, f'data-heatmap-url="{assessment.get_absolute_url()}heatmap.nii.gz"')
        self.assertContains(page, f'data-scan-url="{assessment.get_absolute_url()}scan.nii.gz"')
        self.assertContains(page, '<script src="/static/vendor/niivue/niivue.umd.js"></script>', html=True)
        self.assertContains(page, '<script src="/static/js/volume-viewer.js"></script>', html=True)
        # Every script is a file: no inline code for a strict Content-Security-Policy to refuse.
        self.assertEqual(html.count("<script"), html.count("<script src="))
        self.assertEqual(page.context["viewer_lut"], json.dumps(lookup_table("viridis")))
        # Without JavaScript the viewer stays hidden and the slice table is there.
        self.assertContains(page, "Each analysed slice")

    def test_the_viewer_lookup_table_is_the_overlays_colour_map(self):
        table = lookup_table("jet")
        self.assertEqual(table["I"][0], 0)
        self.assertEqual(table["I"][-1], 255)
        self.assertEqual(table["A"][0], 0)
        top = colourise(np.array([[1.0]]), "jet")[0, 0]
        self.assertEqual([table["R"][-1], table["G"][-1], table["B"][-1]], top.tolist())


class VolumeInTheWorkerTests(AlzAwareTestCase):
    """The result page answers with the grade at once; the 3-D heatmap follows from the task worker."""

    def test_the_page_shows_the_grade_at_once_and_the_viewer_once_the_worker_has_drawn_it(self):
        self.login(self.patient.user)
        self.client.post(reverse("assessments:new"),
                         {"scan": upload(scan_files.mni_nifti_bytes(2, compressed=True), "b.nii.gz", "application/gzip")})
        assessment = Assessment.objects.get()
        self.assertEqual((assessment.heatmap_volume.name, assessment.scan_volume.name), ("", ""))
        state_url = reverse("assessments:volume_state", args=[assessment.pk])
        page = self.client.get(assessment.get_absolute_url())
        self.assertContains(page, f"Result: {assessment.prediction}")
        self.assertContains(page, "The 3-D view of your scan is being prepared")
        self.assertContains(page, '<script src="/static/js/volume-pending.js"></script>', html=True)
        self.assertEqual(self.client.get(state_url).json(),
                         {"ready": False, "pending": True, "slice_images_pending": True})
        band = assessment.pending_band.name
        self.assertIn(band, self.stored_files())
        self.assertTrue(draw_volume_heatmap.call(assessment.pk))
        self.assertEqual(self.client.get(state_url).json(),
                         {"ready": True, "pending": False, "slice_images_pending": False})
        self.assertNotIn(band, self.stored_files())
        self.assertContains(self.client.get(assessment.get_absolute_url()), 'id="volume-viewer"')
        self.login(self.other_patient.user)
        self.assertEqual(self.client.get(state_url).status_code, 404)

    def test_a_failed_drawing_keeps_the_result_and_drops_the_band(self):
        self.login(self.patient.user)
        self.client.post(reverse("assessments:new"),
                         {"scan": upload(scan_files.mni_nifti_bytes(2, compressed=True), "b.nii.gz", "application/gzip")})
        assessment = Assessment.objects.get()
        with mock.patch("assessments.tasks.volume_files", side_effect=MemoryError("out of memory")):
            self.assertFalse(draw_volume_heatmap.call(assessment.pk))
        assessment.refresh_from_db()
        self.assertEqual((assessment.pending_band.name, assessment.heatmap_volume.name), ("", ""))
        self.assertFalse(any(name.startswith("pending/") for name in self.stored_files()))
        page = self.client.get(assessment.get_absolute_url())
        self.assertContains(page, f"Result: {assessment.prediction}")
        self.assertNotContains(page, "being prepared")


class SliceImagesInTheWorkerTests(AlzAwareTestCase):
    """A volume's slice images (scan and overlay PNGs) are drawn by the task worker too, after the response."""

    def submit(self):
        self.login(self.patient.user)
        self.client.post(reverse("assessments:new"),
                         {"scan": upload(scan_files.mni_nifti_bytes(2, compressed=True), "b.nii.gz", "application/gzip")})
        return Assessment.objects.get()

    def slice_image_urls(self, assessment):
        return [reverse("assessments:slice_file", args=[assessment.pk, one.position, kind])
                for one in assessment.slices.exclude(representative=True) for kind in ("scan", "overlay")]

    def test_the_request_stores_the_result_and_the_worker_draws_the_slice_images(self):
        assessment = self.submit()
        waiting = assessment.slices.exclude(representative=True)
        self.assertGreater(waiting.count(), 0)
        self.assertEqual({(one.scan.name, one.overlay.name) for one in waiting}, {("", "")})
        shown = assessment.slices.get(representative=True)
        self.assertEqual((shown.scan.name, shown.overlay.name), (assessment.scan.name, assessment.overlay.name))
        page = self.client.get(assessment.get_absolute_url())
        self.assertContains(page, f"Result: {assessment.prediction}")
        self.assertContains(page, "The pictures of each slice are still being drawn")
        self.assertContains(page, "Still being drawn", count=waiting.count())
        # No broken pictures meanwhile: the page names no image that is not there yet.
        for url in self.slice_image_urls(assessment):
            self.assertNotContains(page, url)
        answer = self.client.get(reverse("api-assessment", args=[assessment.pk])).json()
        self.assertTrue(answer["volume_pending"])
        self.assertEqual({one["heatmap_url"] for one in answer["slices"] if not one["representative"]}, {None})

        self.assertTrue(draw_volume_heatmap.call(assessment.pk))
        analysed = [one for one in assessment.slices.exclude(representative=True) if one.analysed]
        self.assertTrue(all(one.scan and one.overlay for one in analysed))
        self.assertTrue(all(one.scan for one in assessment.slices.all()))
        page = self.client.get(assessment.get_absolute_url())
        self.assertNotContains(page, "still being drawn")
        for one in analysed:
            url = reverse("assessments:slice_file", args=[assessment.pk, one.position, "overlay"])
            self.assertContains(page, url)
            self.assertEqual(self.client.get(url)["Content-Type"], "image/png")
        answer = self.client.get(reverse("api-assessment", args=[assessment.pk])).json()
        self.assertFalse(answer["volume_pending"])
        self.assertTrue(all(one["heatmap_url"] for one in answer["slices"] if one["prediction"]))

    def test_the_slice_images_are_drawn_from_the_uploads_own_maps_even_after_the_model_changed(self):
        assessment = self.submit()
        with assessment.pending_band.open("rb") as kept:
            band, maps = band_from_npz(kept.read())
        other = assessment.slices.exclude(representative=True).exclude(prediction="").first()
        gray = band.slices[band.positions.index(other.position)]
        Assessment.objects.filter(pk=assessment.pk).update(model_sha256="0" * 64)
        self.assertFalse(draw_volume_heatmap.call(assessment.pk))  # no 3-D map of another model's result
        other.refresh_from_db()
        with other.overlay.open("rb") as fh:
            self.assertEqual(fh.read(), explanations.overlay_png(gray, maps[other.position],
                                                                 colour_map=assessment.overlay_colour_map))
        self.assertEqual(maps[other.position].classes[maps[other.position].predicted_index], other.prediction)

    def test_a_worker_killed_after_storing_slice_images_leaves_nothing_past_the_sweep(self):
        assessment = self.submit()
        owned = self.stored_files()
        # Killed between storing a slice's images and naming them in its row: no clean-up of any kind runs.
        with mock.patch.object(default_storage, "delete"), \
                mock.patch.object(AssessmentSlice.objects, "filter", side_effect=SystemExit("killed")), \
                self.assertRaises(SystemExit):
            draw_volume_heatmap.call(assessment.pk)
        Assessment.objects.filter(pk=assessment.pk).update(pending_band=assessment.pending_band.name)
        self.assertEqual(len(set(self.stored_files()) - set(owned)), 2)  # one slice's scan and overlay
        remove_orphan_files(grace=0)
        self.assertEqual(self.stored_files(), owned)
        # Run again (as the sweep's lease expiry does), the task draws them all.
        self.assertTrue(draw_volume_heatmap.call(assessment.pk))
        self.assertTrue(all(one.scan for one in assessment.slices.all()))

    def test_an_erasure_while_the_images_are_drawn_leaves_no_file(self):
        assessment = self.submit()
        name_files = AssessmentSlice.objects.filter

        def erased_meanwhile(**lookups):
            Assessment.objects.filter(pk=assessment.pk).delete()
            return name_files(**lookups)

        with self.captureOnCommitCallbacks(execute=True), \
                mock.patch.object(AssessmentSlice.objects, "filter", side_effect=erased_meanwhile):
            self.assertFalse(draw_volume_heatmap.call(assessment.pk))
        self.assertEqual(self.stored_files(), [])

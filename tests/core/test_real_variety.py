"""Real brains the layout checks must let through, a volume's band chosen by its content, and every band slice
listed, analysed or left out with the reason.

The bench (tests/fixtures/real_variety.py) is made at test time from nilearn's MNI152 template and brain mask (a test
requirement; nothing is downloaded), at 2 mm where the kind allows, to stay fast.
"""

import io
import json
import tempfile
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
from django.core.management import call_command
from django.test import SimpleTestCase, tag
from django.urls import reverse

from assessments.models import Assessment
from assessments.tasks import draw_volume_heatmap
from mri.io import ScanRejected, nifti, quality, read_scan
from tests.base import AlzAwareTestCase, image_bytes, upload
from tests.fixtures import real_variety, scan_files

LIMIT = 1 << 26


def read(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_scan(data, LIMIT)


def band_mm(volume, affine):
    """The MNI z (mm) of the band the app picks in ``volume`` written as NIfTI with ``affine``."""
    import nibabel as nib

    raw, version = nifti.sniff(scan_files.nifti_bytes(volume, affine))
    canonical = nib.as_closest_canonical(nib.Nifti1Image(np.asarray(volume, np.float32), affine)).affine
    return [round(float((canonical @ [0, 0, z, 1])[2])) for z in
            nifti.band_positions(*nifti.read_volume(raw, version))]


def flat_slices(volume, positions):
    """``volume`` with the slices at ``positions`` made flat (no detail inside), their cross-section kept."""
    volume = np.array(volume, np.float32)
    high = quality.robust_window(volume.ravel())[1]
    for z in positions:
        volume[:, :, z] = np.where(volume[:, :, z] > nifti.BAND_FOREGROUND * high, high / 2, 0)
    return volume


@tag("slow")  # every kind of the real-variety bench: many whole volumes
class RealVarietyTests(SimpleTestCase):
    def test_every_kind_of_real_variety_passes_the_layout_checks(self):
        kinds = real_variety.kinds()
        self.assertEqual(len(kinds), 27)
        for kind, slices, refused, _ in real_variety.run(resolution=2):
            with self.subTest(kind=kind.name):
                self.assertGreater(slices, 0)
                self.assertEqual(refused, {})

    def test_it_analyses_a_2mm_template_slice(self):
        for gray in real_variety.template_band(2):
            scan = read(image_bytes(gray))
            self.assertEqual(scan.gray.shape, gray.shape)

    def test_it_analyses_every_band_slice_of_a_skull_stripped_2mm_volume_on_fsls_grid(self):
        volume, affine = real_variety.fsl_2mm(2)
        self.assertEqual(volume.shape, (91, 109, 91))
        scan = read(scan_files.nifti_bytes(volume * (volume > 0), affine, compressed=True))
        self.assertEqual(len(scan.slices), nifti.BAND_SLICES)
        self.assertEqual(scan.left_out, [])

    def test_it_analyses_a_ragged_skull_stripped_native_slice_of_256_by_207(self):
        volume, affine = real_variety.stripped(2, 0.0, ragged=2.0, seed=1)
        for gray in real_variety.band(volume, affine, every=False):
            scan = read(image_bytes(real_variety.framed(np.asarray(gray), (256, 207))))
            self.assertEqual(scan.gray.shape, (256, 207))

    def test_the_checks_still_refuse_what_no_axial_brain_slice_can_be(self):
        from tests.fixtures import make_bad_inputs as bad

        rng = np.random.default_rng(0)
        for name, gray, check in [("inverted", bad.inverted(rng), "dark_frame"),
                                  ("turned on its side", bad.rotated(rng), "head_aspect"),
                                  ("four on a sheet", bad.tiled(rng), "largest_part"),
                                  ("sagittal", scan_files.mni_sagittal(-5), "head_aspect"),
                                  ("through the cerebellum", scan_files.mni_axial(-56), "solidity"),
                                  ("a plain disc", bad.disc(rng), "inside_detail")]:
            with self.subTest(name), self.assertRaises(ScanRejected) as caught:
                quality.check_slice(gray)
            self.assertEqual(caught.exception.check, check)

    def test_every_refusal_is_logged_with_its_check_and_measured_value(self):
        from mri.io.dicom import read_dicom

        data = scan_files.dicom_bytes(scan_files.mni_axial(-56))  # with a patient's name in its header
        solidity = round(quality.layout(read_dicom(data)[0])["solidity"], 4)
        with self.assertLogs("mri.io", "INFO") as logs, self.assertRaises(ScanRejected):
            read(data)
        self.assertEqual(logs.output, [f"INFO:mri.io:An upload was refused (not_brain): check solidity "
                                       f"measured {solidity}, limit {quality.MIN_SOLIDITY}"])
        self.assertNotIn("Testperson", " ".join(logs.output))


class BandTests(SimpleTestCase):
    """A volume's band lies where the brain's cross-section is large, through the ventricles, whatever the grid."""

    def test_a_2mm_template_space_volumes_band_avoids_the_cerebellum(self):
        volume, affine = real_variety.fsl_2mm(2)
        # The array's middle third would start at z = -12 mm, through the cerebellum and the temporal lobes.
        self.assertEqual(band_mm(volume, affine), [4, 8, 14, 18, 24, 28, 32, 38, 42])
        raw, version = nifti.sniff(scan_files.nifti_bytes(volume, affine))
        volume, spacing = nifti.read_volume(raw, version)
        areas = nifti.cross_sections(volume, spacing)
        positions = nifti.band_positions(volume, spacing)
        # Where the brain's cross-section is large: from its widest level up to 75% of it.
        self.assertEqual(positions, [38, 40, 43, 45, 48, 50, 52, 55, 57])
        self.assertGreaterEqual(min(areas[positions]) / areas.max(), nifti.BAND_TOP)
        self.assertGreaterEqual(min(areas[positions[:5]]) / areas.max(), 0.9)

    def test_the_band_is_the_same_brain_at_1_2_and_3_mm(self):
        self.assertEqual(band_mm(*real_variety.template(1)), [3, 8, 13, 18, 23, 28, 33, 38, 43])
        self.assertEqual(band_mm(*real_variety.template(2)), [4, 8, 14, 18, 24, 28, 32, 38, 42])
        self.assertEqual(band_mm(*real_variety.three_mm(1)), [1, 7, 10, 16, 19, 25, 31, 34, 40])

    def test_a_native_volume_with_5mm_slices_gets_its_band_by_content(self):
        volume, affine = real_variety.at_voxel_size(*real_variety.template(2), (2.0, 2.0, 5.0))
        self.assertEqual(volume.shape[2], 38)
        # One 5 mm slice after another, from the widest level up (the 9 slices make a band of 40 mm).
        self.assertEqual(band_mm(volume, affine), [4, 10, 14, 20, 24, 30, 34, 40, 44])

    def test_a_blank_volume_has_a_band_and_is_refused_as_blank(self):
        self.assertEqual(nifti.band_range(np.zeros((10, 12, 30), np.float32)), (0, 29))
        with self.assertRaises(ScanRejected) as caught:
            read(scan_files.nifti_bytes(np.zeros((80, 96, 80), np.float32)))
        self.assertEqual(caught.exception.code, "blank")


class LeftOutSliceTests(AlzAwareTestCase):
    """A volume with an unusable slice: the result lists it with its reason on the page, in the API, the admin
    and `manage.py analyze`, and is the mean of the others."""

    def setUp(self):
        super().setUp()
        volume, self.affine = real_variety.template(2)
        self.positions = nifti.band_positions(volume, (2.0, 2.0, 2.0))
        self.volume = flat_slices(volume, [self.positions[2]])
        self.data = scan_files.nifti_bytes(self.volume, self.affine)

    def test_a_volume_with_an_unusable_slice_lists_it_with_its_reason_in_the_api(self):
        self.login(self.patient.user)
        with self.assertLogs("mri.io", "INFO") as logs:
            body = self.client.post(reverse("api-predict"), {"file": upload(self.data, "brain.nii")}).json()
        self.assertEqual(logs.output, [f"INFO:mri.io:Slice {self.positions[2]} of a volume was refused "
                                       f"(not_brain): check inside_detail measured 0.0, limit 0.05"])
        self.assertEqual([one["position"] for one in body["slices"]], self.positions)
        left_out = body["slices"][2]
        self.assertEqual(left_out, {"position": self.positions[2], "prediction": None, "confidence": None,
                                    "class_probabilities": None, "any_impairment": None, "heatmap_url": None,
                                    "representative": False, "outside_training": False, "counted": False,
                                    "reason": "inside_detail"})
        counted = [one for one in body["slices"] if one["counted"]]
        self.assertEqual(len(counted), nifti.BAND_SLICES - 1)
        self.assertEqual({one["reason"] for one in counted}, {None})
        assessment = Assessment.objects.get()
        mean = np.mean([[one.probabilities[name] for name in sorted(one.probabilities)]
                        for one in assessment.slices.all() if one.counted], axis=0)
        np.testing.assert_allclose([assessment.probabilities[name] for name in sorted(assessment.probabilities)],
                                   mean, atol=1e-9)

    def test_the_page_and_the_admin_list_it_with_its_reason(self):
        self.login(self.patient.user)
        self.client.post(reverse("assessments:new"), {"scan": upload(self.data, "brain.nii")})
        assessment = Assessment.objects.get()
        self.assertTrue(draw_volume_heatmap.call(assessment.pk))  # the slices' images, from the task worker
        page = self.client.get(assessment.get_absolute_url())
        self.assertContains(page, "looked at 8 slices from the middle of the brain and took the average. "
                                  "1 more slice was left out.")
        self.assertContains(page, "Not analysed <span class=\"muted\">(left out of the result: no detail inside the "
                                  "head)</span>", count=1, html=False)
        scan = self.client.get(reverse("assessments:slice_file", args=[assessment.pk, self.positions[2], "scan"]))
        self.assertEqual(scan.status_code, 200)
        self.client.force_login(self.doctor)
        admin_page = self.client.get(reverse("admin:assessments_assessment_change", args=[assessment.pk]))
        self.assertContains(admin_page, "no: no detail inside the head (inside_detail)", count=1)
        self.assertContains(admin_page, "<td>yes</td>", count=nifti.BAND_SLICES - 1, html=False)

    def test_manage_py_analyze_lists_it_with_its_reason(self):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "brain.nii"
            path.write_bytes(self.data)
            out = io.StringIO()
            with redirect_stdout(out):
                call_command("analyze", str(path), "--json", stdout=out)
            [line] = [json.loads(text) for text in out.getvalue().splitlines()]
            self.assertEqual([one["position"] for one in line["slices"]], self.positions)
            self.assertEqual(line["slices"][2], {"position": self.positions[2], "prediction": None,
                                                 "confidence": None, "counted": False, "reason": "inside_detail"})
            text = io.StringIO()
            call_command("analyze", str(path), stdout=text)
        self.assertIn(f"from 8 of the band's 9 axial slices\n  slice {self.positions[2]} left out: no detail inside "
                      f"the head", text.getvalue())

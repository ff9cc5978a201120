"""Reading uploads: every format by content, pydicom's own test files, NIfTI volumes from MNI152."""

import io
import warnings
from pathlib import Path

import numpy as np
from django.conf import settings
from django.test import SimpleTestCase
from PIL import Image

from mri.io import MAX_PIXELS, Scan, ScanRejected, read_scan
from mri.io.dicom import read_dicom
from mri.io.nifti import BAND_SLICES
from tests.base import drawn_brain_slice, everything_said, image_bytes
from tests.fixtures import scan_files

LIMIT = settings.MAX_UPLOAD_BYTES


def testdata(name):
    """A file from pydicom's bundled test data, or None when this pydicom does not ship it."""
    from pydicom.data import get_testdata_file

    try:
        path = get_testdata_file(name, download=False)
    except (TypeError, ValueError, OSError):
        path = None
    return Path(path) if path and Path(path).exists() else None


MR_SMALL_VARIANTS = [
    "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_expb.dcm",
    "MR_small_padded.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm",
]


def decode_dicom(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_dicom(data)


def read(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_scan(data, LIMIT)


class RasterTests(SimpleTestCase):
    def assert_refused(self, data, code):
        with self.assertRaises(ScanRejected) as caught:
            read(data)
        self.assertEqual(caught.exception.code, code)
        self.assertTrue(caught.exception.message.endswith("."))
        return caught.exception

    def test_it_reads_png_jpeg_tiff_and_bmp_by_content(self):
        gray = drawn_brain_slice(1)
        for fmt in ("PNG", "JPEG", "TIFF", "BMP"):
            with self.subTest(fmt=fmt):
                scan = read(image_bytes(gray, fmt))
                self.assertEqual(scan.source_format, fmt.lower())
                self.assertEqual(scan.gray.shape, gray.shape)
                self.assertEqual(scan.slices, [scan.gray])

    def test_it_reads_a_16_bit_png_with_a_robust_window(self):
        gray = drawn_brain_slice(2).astype(np.uint16) * 200
        buffer = io.BytesIO()
        Image.fromarray(gray).save(buffer, format="PNG")
        scan = read(buffer.getvalue())
        self.assertEqual(scan.gray.dtype, np.uint8)
        self.assertGreater(np.corrcoef(scan.gray.ravel(), gray.ravel())[0, 1], 0.99)

    def test_it_accepts_rgb_that_is_really_gray(self):
        gray = drawn_brain_slice(3)
        scan = read(image_bytes(np.stack([gray] * 3, axis=-1), "JPEG"))
        self.assertLess(np.abs(scan.gray.astype(int) - gray).mean(), 3)

    def test_it_rejects_a_colour_photo(self):
        gray = drawn_brain_slice(4)
        rgb = np.stack([gray, gray // 2, 255 - gray], axis=-1)
        self.assert_refused(image_bytes(rgb), "colour")

    def test_it_rejects_thumbnails_and_slivers(self):
        self.assert_refused(image_bytes(np.full((40, 100), 120, np.uint8)), "too_small")
        self.assert_refused(image_bytes(np.tile(drawn_brain_slice(5), (1, 4))), "bad_aspect")

    def test_it_rejects_blank_and_noise(self):
        self.assert_refused(image_bytes(np.zeros((200, 200), np.uint8)), "blank")
        noise = np.random.default_rng(0).integers(0, 256, (200, 200), dtype=np.uint8)
        self.assert_refused(image_bytes(noise), "noise")

    def test_it_rejects_a_pixel_bomb_before_decoding_it(self):
        from tests.fixtures.make_bad_inputs import png_header_only

        # Pillow only warns between 1x and 2x its limit and raises above; we refuse both.
        for side in (int((1.5 * MAX_PIXELS) ** 0.5), 20000):
            with self.subTest(side=side):
                error = self.assert_refused(png_header_only(side, side), "too_many_pixels")
                self.assertIn(f"{MAX_PIXELS // 1_000_000} million pixels", error.message)

    def test_it_names_archives_and_documents(self):
        self.assertIn("RAR archive", self.assert_refused(b"Rar!\x1a\x07\x00" + b"\0" * 100, "unsupported").message)
        self.assertIn("PDF", self.assert_refused(b"%PDF-1.4\n...", "unsupported").message)


class LayoutTests(SimpleTestCase):
    """What cannot be an axial brain slice shown the usual way is refused before the model, saying why."""

    def refused_because(self, gray):
        with self.assertRaises(ScanRejected) as caught:
            read(image_bytes(gray))
        self.assertEqual(caught.exception.code, "not_brain")
        return caught.exception.message

    def test_it_accepts_axial_template_slices_with_and_without_a_scalp(self):
        import cv2

        for offset in (-8, 0, 8, 16):
            read(image_bytes(scan_files.mni_axial(offset)))
        gray = scan_files.mni_axial()
        h, w = gray.shape
        canvas = np.zeros((h + 40, w + 40), np.uint8)
        canvas[20:20 + h, 20:20 + w] = gray
        # Scalp fat is bright on T1, the skull between it and the brain dark: still one head.
        cv2.ellipse(canvas, (canvas.shape[1] // 2, canvas.shape[0] // 2), (w // 2 + 8, h // 2 + 6), 0, 0, 360, 230, 5)
        read(image_bytes(canvas))

    def test_it_explains_each_layout_refusal(self):
        from tests.fixtures import make_bad_inputs as bad

        rng = np.random.default_rng(0)
        self.assertIn("background is light", self.refused_because(bad.inverted(rng)))
        self.assertIn("on its side", self.refused_because(bad.rotated(rng)))
        self.assertIn("cut off", self.refused_because(bad.chessboard(np.random.default_rng(2))))
        self.assertIn("several pictures", self.refused_because(bad.tiled(rng)))
        # An axial slice through the temporal lobes and the cerebellum (MNI z = -34 mm): solidity 0.75.
        self.assertIn("coronal or sagittal", self.refused_because(scan_files.mni_axial(-56)))
        self.assertIn("no detail inside", self.refused_because(bad.disc(rng)))


class DicomTests(SimpleTestCase):
    def test_every_mr_small_variant_decodes_to_the_same_pixels(self):
        # Decoding only: MR_small is not a brain slice, so read_scan itself refuses it (see the next test).
        reference, _ = decode_dicom(testdata("MR_small.dcm").read_bytes())
        self.assertEqual(reference.shape, (64, 64))
        for name in MR_SMALL_VARIANTS[1:]:
            with self.subTest(name=name):
                path = testdata(name)
                if path is None:
                    self.skipTest(f"{name} is not shipped with this pydicom and is not downloaded by the tests")
                np.testing.assert_array_equal(decode_dicom(path.read_bytes())[0], reference)

    def test_mr_small_is_refused_as_not_a_brain_slice(self):
        with self.assertRaises(ScanRejected) as caught:
            read(testdata("MR_small.dcm").read_bytes())
        self.assertEqual(caught.exception.code, "not_brain")

    def test_mr_truncated_is_refused_clearly(self):
        with self.assertRaises(ScanRejected) as caught:
            read(testdata("MR_truncated.dcm").read_bytes())
        self.assertEqual(caught.exception.code, "unreadable")
        self.assertIn("damaged or incomplete", caught.exception.message)

    def test_a_ct_is_refused_as_not_an_mri(self):
        with self.assertRaises(ScanRejected) as caught:
            read(testdata("CT_small.dcm").read_bytes())
        self.assertEqual(caught.exception.code, "not_mri")
        self.assertIn("CT scan", caught.exception.message)

    def test_it_keeps_only_acquisition_fields(self):
        scan = read(scan_files.dicom_bytes(scan_files.mni_axial()))
        self.assertEqual(scan.acquisition, {"modality": "MR", "field_strength_tesla": 3.0,
                                            "sequence": "*tfl3d1_16ns", "scanning_sequence": "GR\\IR",
                                            "slice_thickness_mm": 1.0})
        text = repr(scan.acquisition) + repr(vars(scan).keys())
        for value in scan_files.PATIENT.values():
            self.assertNotIn(value.split("^")[0], text)

    def test_a_brain_slice_reads_the_same_uncompressed_and_compressed(self):
        from pydicom.pixels import get_encoder
        from pydicom.uid import JPEG2000Lossless, RLELossless

        brain = scan_files.mni_axial().astype(np.uint16) * 16  # 12-bit like a scanner's
        plain = read(scan_files.dicom_bytes(brain))
        self.assertGreater(np.corrcoef(plain.gray.ravel(), brain.ravel())[0, 1], 0.99)
        for syntax in (RLELossless, JPEG2000Lossless):
            with self.subTest(syntax=syntax.name):
                if not get_encoder(syntax).is_available:
                    self.skipTest(f"no pydicom encoder for {syntax.name} is installed")
                np.testing.assert_array_equal(read(scan_files.dicom_bytes(brain, transfer_syntax=syntax)).gray,
                                              plain.gray)

    def test_rescale_window_and_monochrome1(self):
        brain = scan_files.mni_axial().astype(np.uint16)
        plain = read(scan_files.dicom_bytes(brain)).gray
        # Stored values halved with slope 2 -> the same picture after the modality LUT.
        rescaled = read(scan_files.dicom_bytes(brain // 2, slope=2, intercept=0)).gray
        self.assertLess(np.abs(rescaled.astype(int) - plain).mean(), 2)
        windowed = read(scan_files.dicom_bytes(brain, window=(64, 128))).gray
        self.assertEqual(windowed[brain >= 128].min(), 255)
        inverted = read(scan_files.dicom_bytes(brain.max() - brain, photometric="MONOCHROME1")).gray
        self.assertLess(np.abs(inverted.astype(int) - plain).mean(), 2)

    def test_a_multi_frame_file_gives_its_middle_frame(self):
        frames = np.stack([scan_files.mni_axial(offset) for offset in (-10, 0, 10)]).astype(np.uint16)
        scan = read(scan_files.dicom_bytes(frames))
        np.testing.assert_array_equal(scan.gray, read(scan_files.dicom_bytes(frames[1])).gray)

    def test_reading_logs_nothing_personal(self):
        with everything_said() as said:
            read(scan_files.dicom_bytes(scan_files.mni_axial()))
        self.assertNotIn("Testperson", said.text)


class NiftiTests(SimpleTestCase):
    def assert_band_of_mni(self, scan, resolution=2):
        self.assertEqual(scan.source_format, "nifti")
        self.assertTrue(scan.is_volume)
        self.assertEqual(len(scan.slices), BAND_SLICES)
        self.assertEqual(scan.left_out, [])
        # By the brain's content, not the array's middle third: from the widest level (the third ventricle,
        # MNI z = +4 mm) up through the lateral ventricles to +42 mm.
        affine = scan_files.mni_volume(resolution).affine
        self.assertEqual([round(float((affine @ [0, 0, p, 1])[2])) for p in scan.positions],
                         [4, 8, 14, 18, 24, 28, 32, 38, 42])
        self.assertTrue(any(s is scan.gray for s in scan.slices))

    def test_it_reads_a_3d_volume_nii_and_nii_gz(self):
        plain = read(scan_files.mni_nifti_bytes(2))
        self.assert_band_of_mni(plain)
        packed = read(scan_files.mni_nifti_bytes(2, compressed=True))
        self.assertEqual(len(plain.slices), len(packed.slices))
        for a, b in zip(plain.slices, packed.slices):
            np.testing.assert_array_equal(a, b)

    def test_a_4d_file_uses_its_first_volume(self):
        plain = read(scan_files.mni_nifti_bytes(2))
        four_d = read(scan_files.mni_nifti_bytes(2, compressed=True, volumes=3))
        self.assertEqual(len(plain.slices), len(four_d.slices))
        for a, b in zip(plain.slices, four_d.slices):
            np.testing.assert_array_equal(a, b)

    def test_it_reorients_to_the_closest_canonical(self):
        image = scan_files.mni_volume(2)
        data = scan_files.mni_array(2)
        # The same brain stored L-P-I (all axes flipped) with a matching affine.
        flip = np.diag([-1, -1, -1, 1]).astype(float)
        flip[:3, 3] = np.array(data.shape) - 1
        flipped = scan_files.nifti_bytes(data[::-1, ::-1, ::-1].copy(), image.affine @ flip)
        plain, reoriented = read(scan_files.mni_nifti_bytes(2)), read(flipped)
        self.assertEqual(len(plain.slices), len(reoriented.slices))
        for a, b in zip(plain.slices, reoriented.slices):
            np.testing.assert_array_equal(a, b)

    def test_axial_slices_are_shown_anterior_up_patient_right_on_the_left(self):
        volume = np.zeros((96, 112, 30), np.float32)
        volume[20:76, 20:92, :] = 100  # a block of "head" so the slice passes the checks
        volume[20:76, 20:92, :] += np.random.default_rng(0).normal(0, 10, (56, 72, 30))
        volume[70:76, 86:92, :] = 400  # a marker at the right (high x), anterior (high y) corner
        scan = read(scan_files.nifti_bytes(volume))  # identity affine: already RAS
        self.assertEqual(scan.gray.shape, (112, 96))
        row, col = np.unravel_index(np.argmax(scan.gray), scan.gray.shape)
        self.assertLess(row, 112 // 2)  # anterior at the top
        self.assertLess(col, 96 // 2)  # the patient's right on the image's left, as radiologists read

    def test_a_truncated_volume_is_refused(self):
        data = scan_files.mni_nifti_bytes(2)
        with self.assertRaises(ScanRejected) as caught:
            read(data[: len(data) // 3])
        self.assertEqual(caught.exception.code, "unreadable")

    def test_a_gzip_bomb_is_refused(self):
        import zlib

        header = scan_files.nifti_bytes(np.zeros((2, 2, 2), np.float32))[:352]
        packer = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        zeros = b"\0" * (16 * 1024 * 1024)
        bomb = packer.compress(header) + b"".join(packer.compress(zeros) for _ in range(40)) + packer.flush()
        with self.assertRaises(ScanRejected) as caught:
            read(bomb)
        self.assertEqual(caught.exception.code, "too_many_pixels")


class ScanTests(SimpleTestCase):
    def test_a_single_image_is_a_volume_of_one_slice(self):
        gray = drawn_brain_slice(9)
        scan = Scan(gray=gray, source_format="png")
        self.assertEqual(len(scan.slices), 1)
        self.assertFalse(scan.is_volume)

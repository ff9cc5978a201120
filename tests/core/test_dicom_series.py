"""A DICOM series read as a volume: geometry against the source volume, the series chosen among several, files
that are not images passed over, a DICOMDIR's index, and the archive limits (zip bombs, traversal names, links)."""

import io
import stat
import zipfile
from unittest import mock

import nibabel as nib
import numpy as np
from django.test import SimpleTestCase

from mri.io import archive, read_scan, series
from mri.io.errors import ScanRejected
from tests.fixtures import dicom_series, scan_files


def source():
    return scan_files.mni_volume(2)


def canonical(image):
    image = nib.as_closest_canonical(image)
    return image.affine, np.asarray(image.dataobj, dtype=np.float64)


def chosen(data):
    """``(Series, nibabel image, missing slices, every Series)`` of a ZIP's bytes."""
    return series.choose(archive.zip_members(data))


def with_files(data, files):
    """``data`` (a ZIP) with ``files`` {name: bytes} added."""
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as zipped:
        for name, content in files.items():
            zipped.writestr(name, content)
    return buffer.getvalue()


def one_slope(datasets):
    """The rescale slope the exporter wrote: the largest rounding error of a stored value is half of it."""
    return float(datasets[0].RescaleSlope)


class SeriesGeometryTests(SimpleTestCase):
    def assert_rebuilds_the_source(self, data, slope):
        _, image, missing, _ = chosen(data)
        affine, values = canonical(image)
        expected_affine, expected = canonical(source())
        np.testing.assert_allclose(affine, expected_affine, atol=1e-4)
        self.assertEqual(values.shape, expected.shape)
        self.assertLessEqual(np.abs(values - expected).max(), slope / 2 + 1e-6)
        return missing

    def test_a_shuffled_axial_series_gives_the_source_volume_with_its_geometry(self):
        datasets = dicom_series.series_datasets(source(), "axial")
        self.assertEqual(self.assert_rebuilds_the_source(dicom_series.series_zip(datasets, shuffle=7),
                                                         one_slope(datasets)), 0)

    def test_sagittal_and_coronal_series_give_the_same_volume(self):
        for plane in ("sagittal", "coronal"):
            with self.subTest(plane=plane):
                datasets = dicom_series.series_datasets(source(), plane)
                self.assert_rebuilds_the_source(dicom_series.series_zip(datasets, shuffle=3), one_slope(datasets))

    def test_a_tilted_series_keeps_its_tilt_in_the_affine(self):
        angle = np.deg2rad(12)  # a head nodded forward, as in the real-variety bench
        rotation = np.eye(4)
        rotation[1:3, 1:3] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
        tilted = nib.Nifti1Image(np.asarray(source().dataobj), rotation @ source().affine)
        _, image, _, _ = chosen(dicom_series.series_zip(dicom_series.series_datasets(tilted, "axial")))
        # Positions are written with 6 significant digits: up to 0.0005 mm off at 100 mm from the centre.
        np.testing.assert_allclose(canonical(image)[0], canonical(tilted)[0], atol=1e-3)

    def test_a_missing_slice_is_filled_in_from_its_neighbours_and_counted(self):
        datasets = dicom_series.series_datasets(source(), "axial")
        _, image, missing, _ = chosen(dicom_series.series_zip(datasets, drop=[40]))
        self.assertEqual(missing, 1)
        affine, values = canonical(image)
        expected_affine, expected = canonical(source())
        np.testing.assert_allclose(affine, expected_affine, atol=1e-4)
        np.testing.assert_allclose(values[:, :, 40], (values[:, :, 39] + values[:, :, 41]) / 2, atol=1e-4)
        self.assertLessEqual(np.abs(values[:, :, 41] - expected[:, :, 41]).max(), one_slope(datasets) / 2 + 1e-6)

    def test_a_slice_sent_twice_is_read_once(self):
        from pydicom.uid import generate_uid

        datasets = dicom_series.series_datasets(source(), "axial")
        twice = datasets[10].copy()
        twice.SOPInstanceUID = twice.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        self.assertEqual(self.assert_rebuilds_the_source(dicom_series.series_zip(datasets + [twice]),
                                                         one_slope(datasets)), 0)

    def test_compressed_transfer_syntaxes_give_the_same_volume(self):
        from pydicom.pixels import get_encoder

        plain = canonical(chosen(dicom_series.series_zip(dicom_series.series_datasets(source())))[1])[1]
        for name in ("rle", "jpeg-ls", "jpeg2000"):
            syntax = dicom_series.SYNTAXES[name]
            with self.subTest(syntax=name):
                if not get_encoder(syntax).is_available:
                    self.skipTest(f"no {name} encoder installed for pydicom")
                packed = dicom_series.series_datasets(source(), transfer_syntax=syntax)
                self.assertEqual(packed[0].file_meta.TransferSyntaxUID, syntax)
                np.testing.assert_array_equal(canonical(chosen(dicom_series.series_zip(packed))[1])[1], plain)


class SeriesChoiceTests(SimpleTestCase):
    def study(self):
        """A localiser, an axial T1, a thin sagittal T2 and a thick (6 mm) one, as a scanner exports a study."""
        study = "1.2.826.0.1.3680043.8.498.1"
        return {
            "localiser": dicom_series.localiser_datasets(source(), study=study),
            "t1": dicom_series.series_datasets(source(), "axial", study=study),
            "t2": dicom_series.series_datasets(source(), "sagittal", study=study, timing=dicom_series.T2_TSE,
                                               description="t2_tse_sag", number=4),
            "thick": dicom_series.series_datasets(source(), "sagittal", study=study, step=3,
                                                  description="T1 SAG 2D", number=5),
        }

    def test_the_axial_t1_is_chosen_and_every_other_series_is_listed_with_the_reason(self):
        study = self.study()
        data = dicom_series.series_zip([ds for found in study.values() for ds in found], shuffle=1, extra={
            "DICOM/SR00001": dicom_series.file_bytes(dicom_series.non_image_dataset(dicom_series.SR_CLASS)),
            "DICOM/PS00001": dicom_series.file_bytes(dicom_series.non_image_dataset(dicom_series.PRESENTATION_CLASS)),
            "__MACOSX/DICOM/._IM00001": b"\x00\x05\x16\x07" + b"\x00" * 200,
            "DICOM/.DS_Store": b"\x00\x00\x00\x01Bud1" + b"\x00" * 100, "Thumbs.db": b"\xd0\xcf\x11\xe0" + b"\x00" * 50,
            "README.TXT": b"Open VIEWER.EXE to see the images.", "VIEWER.EXE": b"MZ" + b"\x00" * 300,
        })
        slices, positions, acquisition, _, infos = series.read_series(archive.zip_members(data))
        self.assertEqual([(i.description, i.weighting, i.plane, i.slice_count, i.analysed) for i in infos[:1]],
                         [("T1 MPRAGE", "T1", "axial", 95, True)])
        skipped = {(i.plane, i.slice_count): i.skipped_because
                   for i in infos[1:]}
        self.assertEqual(skipped, {("several planes", 9): "localiser", ("sagittal", 99): "not_chosen",
                                   ("sagittal", 33): "coarse"})
        self.assertEqual(len(slices), len(positions))
        self.assertEqual(acquisition["sequence"], "*tfl3d1_16ns")

    def test_without_a_t1_series_the_best_other_is_analysed_and_says_its_weighting(self):
        t2 = dicom_series.series_datasets(source(), "axial", timing=dicom_series.T2_TSE, description="AX T2")
        infos = series.read_series(archive.zip_members(dicom_series.series_zip(t2)))[4]
        self.assertEqual([(i.weighting, i.analysed) for i in infos], [("T2", True)])

    def test_a_dicomdir_is_read_through_its_index(self):
        study = self.study()
        data = dicom_series.dicomdir_zip(study["localiser"] + study["t1"])
        # A series beside the index but not listed in it is not part of what the CD holds.
        stray = {f"STRAY/IM{i}": dicom_series.file_bytes(ds) for i, ds in enumerate(study["t2"])}
        found = chosen(with_files(data, stray))[3]
        self.assertEqual(sorted(len(s.headers) for s in found), [9, 95])
        self.assertEqual([len(s.headers) for s in found if not s.reason], [95])

    def test_nothing_usable_is_refused_saying_what_was_found(self):
        study = self.study()
        data = dicom_series.series_zip(study["localiser"] + study["thick"])
        with self.assertRaises(ScanRejected) as refused:
            read_scan(data, 1 << 25)
        self.assertEqual(refused.exception.code, "no_series")
        self.assertIn("2 series", refused.exception.message)
        self.assertIn("a localiser", refused.exception.message)

    def test_a_zip_holding_one_scan_reads_that_scan(self):
        data = with_files(dicom_series.series_zip([]), {"brain.nii.gz": scan_files.mni_nifti_bytes(2, True)})
        self.assertEqual(read_scan(data, 1 << 25).source_format, "nifti")


def zip_of(entries):
    """A ZIP of ``entries`` [(ZipInfo or name, bytes)]."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for info, content in entries:
            zipped.writestr(info, content)
    return buffer.getvalue()


def forged_size(data, name, size):
    """``data`` (a ZIP) with ``name``'s uncompressed size set to ``size`` in its local header and the directory."""
    import struct

    data = bytearray(data)
    encoded = name.encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = data.find(signature)
        while start >= 0 and data[start + name_at:start + name_at + len(encoded)] != encoded:
            start = data.find(signature, start + 1)
        struct.pack_into("<I", data, start + size_at, size)
    return bytes(data)


class ArchiveLimitTests(SimpleTestCase):
    def refused(self, data):
        with self.assertRaises(ScanRejected) as refused:
            read_scan(data, 1 << 25)
        return refused.exception

    def test_a_zip_bomb_is_refused_from_its_directory_before_inflating(self):
        one = b"\x00" * (archive.MAX_MEMBER_BYTES + 1)
        bomb = zip_of([("IM1", one)])
        self.assertLess(len(bomb), 1 << 20)
        many = archive.MAX_TOTAL_BYTES // archive.MAX_MEMBER_BYTES + 1
        piece = b"\x00" * archive.MAX_MEMBER_BYTES
        together = zip_of([(f"IM{i}", piece) for i in range(many)])
        # Opening a member is where inflating starts: it must not be reached.
        with mock.patch.object(zipfile.ZipFile, "open", side_effect=AssertionError("a member was opened")):
            with self.subTest("one file"):
                error = self.refused(bomb)
                self.assertEqual((error.code, error.check), ("too_large", "member_bytes"))
            with self.subTest("all files together"):
                error = self.refused(together)
                self.assertEqual((error.code, error.check), ("too_large", "unpacked_bytes"))

    def test_django_accepts_as_many_files_in_one_upload_as_a_zip_may_hold(self):
        from django.conf import settings

        self.assertEqual(settings.DATA_UPLOAD_MAX_NUMBER_FILES, archive.MAX_FILES)

    def test_too_many_files_are_refused(self):
        error = self.refused(zip_of([(f"IM{i}", b"") for i in range(archive.MAX_FILES + 1)]))
        self.assertEqual(error.code, "too_many_files")

    def test_names_that_climb_out_of_the_folder_and_links_are_refused(self):
        link = zipfile.ZipInfo("DICOM/IM2")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        for name, entries in {
            "parent": [("DICOM/IM1", b"x"), ("../../etc/cron.d/job", b"x")],
            "inner parent": [("DICOM/../../IM1", b"x"), ("IM2", b"x")],
            "absolute": [("/etc/passwd", b"x"), ("IM2", b"x")],
            "drive": [("C:\\Windows\\IM1", b"x"), ("IM2", b"x")],
            "backslashes": [("..\\..\\IM1", b"x"), ("IM2", b"x")],
            "link": [("DICOM/IM1", b"x"), (link, b"/etc/passwd")],
        }.items():
            with self.subTest(name):
                error = self.refused(zip_of(entries))
                self.assertEqual(error.code, "unsafe_archive")
                self.assertIn("not opened", error.message)

    def test_a_member_that_understates_its_size_is_never_read_past_it(self):
        """The bomb that lies in its directory: reading stops at the declared size, and the checksum then fails."""
        lying = forged_size(zip_of([("IM1", b"\x00" * (4 * archive.MAX_MEMBER_BYTES // 1000)), ("IM2", b"x")]),
                            "IM1", 1000)
        member = next(m for m in archive.zip_members(lying) if m.name == "IM1")
        self.assertEqual(member.size, 1000)
        with self.assertRaises(ScanRejected) as refused:
            member.read()
        self.assertEqual(refused.exception.code, "unreadable")

    def test_a_damaged_zip_is_unreadable(self):
        self.assertEqual(self.refused(b"PK\x03\x04" + b"\x00" * 100).code, "unreadable")

    def test_hidden_system_files_are_not_members(self):
        members = archive.zip_members(zip_of([("__MACOSX/._IM1", b"x"), ("a/.DS_Store", b"x"), ("Thumbs.db", b"x"),
                                              ("a/IM1", b"x")]))
        self.assertEqual([m.name for m in members], ["a/IM1"])

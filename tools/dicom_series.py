"""Export a NIfTI volume as a DICOM series in a ZIP, as a scanner or a hospital CD would give it to a patient.

    .venv/bin/python tools/dicom_series.py brain.nii.gz series.zip [--plane axial|sagittal|coronal]
        [--syntax explicit|rle|jpeg-ls|jpeg2000] [--dicomdir] [--shuffle] [--drop N] [--localiser]

One file per slice, with real geometry (ImagePositionPatient, ImageOrientationPatient, PixelSpacing) from the
NIfTI affine, 12-bit pixels with a rescale slope, made-up personal fields (never a real person's) so that
de-identification can be checked, a T1-weighted MPRAGE's timing, and optionally a localiser series beside it and
a DICOMDIR index. The tests use the same functions on the MNI152 template (tests/test_dicom_series.py).
"""

import argparse
import io
import random
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.scan_files import PATIENT, new_dataset  # noqa: E402

# Voxel axes (columns, rows, slices) of each plane as scanners write it: axial slices seen from the feet with the
# patient's left on the right of the picture, sagittal and coronal ones head up (DICOM's LPS axes).
PLANE_AXES = {"axial": ("L", "P", "S"), "sagittal": ("P", "I", "R"), "coronal": ("L", "I", "P")}
LPS = np.array([-1.0, -1.0, 1.0])  # RAS -> LPS
STORED_MAX = 4095  # 12-bit pixels, as most MR scanners store them
# A T1-weighted 3-D MPRAGE at 3 T (times in ms), so that the series is recognised by its tags.
T1_MPRAGE = {"ScanningSequence": "GR\\IR", "SequenceVariant": "SK\\SP\\MP", "SequenceName": "*tfl3d1_16ns",
             "RepetitionTime": 2300, "EchoTime": 2.98, "InversionTime": 900, "MRAcquisitionType": "3D"}
T2_TSE = {"ScanningSequence": "SE", "SequenceVariant": "SK", "SequenceName": "*tse2d1_15",
          "RepetitionTime": 5000, "EchoTime": 95, "MRAcquisitionType": "2D"}
SYNTAXES = {"explicit": None, "rle": "1.2.840.10008.1.2.5", "jpeg-ls": "1.2.840.10008.1.2.4.80",
            "jpeg2000": "1.2.840.10008.1.2.4.90"}
SR_CLASS = "1.2.840.10008.5.1.4.1.1.88.22"  # Enhanced SR
PRESENTATION_CLASS = "1.2.840.10008.5.1.4.1.1.11.1"  # Grayscale Softcopy Presentation State


def reoriented(image, plane):
    import nibabel as nib

    target = nib.orientations.axcodes2ornt(PLANE_AXES[plane])
    return image.as_reoriented(nib.orientations.ornt_transform(nib.io_orientation(image.affine), target))


def ds_text(value):
    return f"{float(value):.6g}"


def base_dataset(sop_class, study, personal=True):
    ds = new_dataset(sop_class)
    ds.StudyInstanceUID = study
    ds.StudyDate, ds.StudyTime, ds.StudyID = "20240105", "101500", "1"
    if personal:
        for keyword, value in PATIENT.items():
            setattr(ds, keyword, value)
    else:
        ds.PatientID = "ANON"
    return ds


def series_datasets(image, plane="axial", *, study=None, description="T1 MPRAGE of Testperson Hermione",
                    timing=T1_MPRAGE, number=3, step=1, image_type="ORIGINAL\\PRIMARY\\M\\ND", personal=True,
                    transfer_syntax=None):
    """``image`` (nibabel) as one pydicom Dataset per slice of ``plane``, every ``step``-th slice kept."""
    from pydicom.uid import MRImageStorage, generate_uid

    image = reoriented(image, plane)
    if step > 1:
        image = image.slicer[:, :, ::step]
    data = np.clip(np.asarray(image.dataobj, dtype=np.float64), 0, None)
    slope = float(ds_text(max(float(data.max()), 1e-6) / STORED_MAX))
    stored = np.clip(np.round(data / slope), 0, STORED_MAX).astype(np.uint16)
    affine = image.affine
    row, column = affine[:3, 0] * LPS, affine[:3, 1] * LPS
    column_spacing, row_spacing = np.linalg.norm(row), np.linalg.norm(column)
    study, series, frame = study or generate_uid(), generate_uid(), generate_uid()
    datasets = []
    for k in range(stored.shape[2]):
        ds = base_dataset(MRImageStorage, study, personal)
        ds.SeriesInstanceUID, ds.FrameOfReferenceUID, ds.SeriesNumber = series, frame, number
        ds.Modality, ds.MagneticFieldStrength, ds.SeriesDescription = "MR", 3, description
        ds.ImageType, ds.InstanceNumber = image_type, k + 1
        for keyword, value in timing.items():
            setattr(ds, keyword, value)
        ds.ImagePositionPatient = [ds_text(v) for v in (affine @ [0, 0, k, 1])[:3] * LPS]
        ds.ImageOrientationPatient = [ds_text(v) for v in np.r_[row / column_spacing, column / row_spacing]]
        ds.PixelSpacing = [ds_text(row_spacing), ds_text(column_spacing)]
        ds.SliceThickness = ds.SpacingBetweenSlices = ds_text(np.linalg.norm(affine[:3, 2]))
        ds.RescaleSlope, ds.RescaleIntercept = ds_text(slope), "0"
        pixels = np.ascontiguousarray(stored[:, :, k].T)
        ds.Rows, ds.Columns = pixels.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.PixelData = pixels.tobytes()
        if transfer_syntax is not None:
            ds.compress(transfer_syntax, pixels)
        datasets.append(ds)
    return datasets


def localiser_datasets(image, study=None, personal=True):
    """A three-plane localiser: three slices in each plane, all in one series, as scanners take first."""
    from pydicom.uid import generate_uid

    series, frame = generate_uid(), generate_uid()
    datasets = []
    for plane in PLANE_AXES:
        planar = reoriented(image, plane)
        middle = planar.shape[2] // 2
        for ds in series_datasets(planar.slicer[:, :, middle - 1:middle + 2], plane, study=study,
                                  description="AAHead_Scout of Testperson", personal=personal,
                                  image_type="ORIGINAL\\PRIMARY\\LOCALIZER", number=1):
            ds.SeriesInstanceUID, ds.FrameOfReferenceUID = series, frame
            ds.InstanceNumber = len(datasets) + 1
            datasets.append(ds)
    return datasets


def non_image_dataset(sop_class, study=None, personal=True):
    """A structured report or presentation state: no pixels, passed over by the reader."""
    from pydicom.uid import generate_uid

    ds = base_dataset(sop_class, study or generate_uid(), personal)
    ds.SeriesInstanceUID, ds.Modality = generate_uid(), "SR" if sop_class == SR_CLASS else "PR"
    return ds


def file_bytes(ds):
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def series_zip(datasets, *, shuffle=None, drop=(), extra=None, folder="DICOM"):
    """The datasets as a ZIP of files ``IM00001``... in ``folder`` (the order shuffled by seed ``shuffle``,
    the ``drop`` indices left out) and the ``extra`` {name: bytes} files beside them."""
    files = [(f"{folder}/IM{i + 1:05d}", file_bytes(ds)) for i, ds in enumerate(datasets) if i not in set(drop)]
    if shuffle is not None:
        random.Random(shuffle).shuffle(files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in [*files, *(extra or {}).items()]:
            archive.writestr(name, data)
    return buffer.getvalue()


def dicomdir_zip(datasets):
    """The datasets as a hospital CD holds them: pydicom's File-set with its DICOMDIR index, zipped."""
    from pydicom.fileset import FileSet

    fileset = FileSet()
    for ds in datasets:
        fileset.add(ds)
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as folder:
        fileset.write(folder)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(Path(folder).rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def main(argv=None):
    import nibabel as nib

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("nifti")
    parser.add_argument("out")
    parser.add_argument("--plane", choices=sorted(PLANE_AXES), default="axial")
    parser.add_argument("--syntax", choices=sorted(SYNTAXES), default="explicit")
    parser.add_argument("--dicomdir", action="store_true", help="write a DICOMDIR index, as on a hospital CD")
    parser.add_argument("--shuffle", type=int, default=None, help="shuffle the files' order with this seed")
    parser.add_argument("--drop", type=int, nargs="*", default=(), help="leave out these slice indices")
    parser.add_argument("--localiser", action="store_true", help="add a three-plane localiser series")
    args = parser.parse_args(argv)
    image = nib.load(args.nifti)
    if len(image.shape) > 3:
        image = image.slicer[..., 0]
    datasets = series_datasets(image, args.plane, transfer_syntax=SYNTAXES[args.syntax])
    if args.localiser:
        datasets = localiser_datasets(image, study=datasets[0].StudyInstanceUID) + datasets
    kept = [ds for i, ds in enumerate(datasets) if i not in set(args.drop)]
    data = dicomdir_zip(kept) if args.dicomdir else series_zip(datasets, shuffle=args.shuffle, drop=args.drop)
    Path(args.out).write_bytes(data)
    print(f"{args.out}: {len(kept)} files, {len(data) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()

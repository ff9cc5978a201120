"""The built-in one-file readers (``mri/io/__init__.py`` registers them; the DICOM series' is in :mod:`.reading`).

Each answers None for a file that is not its format, so the next is tried. The content decides, never the
name: DICOM by its ``DICM`` marker, a ZIP by its signature, NIfTI by its header (gzipped or not); what is left
goes to Pillow, last, after :data:`NOT_SCANS` has named the files people pick by mistake.
"""

from mri.io import dicom, errors, nifti, rasters
from mri.io.registry import Reader
from mri.io.scan import Scan, slice_scan, volume_scan


def read_raster(data: bytes, nested: bool) -> Scan:
    gray, source_format = rasters.read_raster(data)
    return slice_scan(gray, source_format)


def read_dicom(data: bytes, nested: bool) -> Scan | None:
    if not dicom.is_dicom(data):
        return None
    gray, acquisition = dicom.read_dicom(data)
    return slice_scan(gray, "dicom", acquisition)


def read_nifti(data: bytes, nested: bool) -> Scan | None:
    volume = nifti.sniff(data)
    if volume is not None:
        with nifti.decoding():
            slices, positions, acquisition, band = nifti.read_nifti(*volume)
        return volume_scan(slices, positions, acquisition, band)
    if nifti.is_gzip(data):
        raise errors.unsupported("a compressed (.gz) file that is not a NIfTI volume",
                                 "Please unpack it and upload the scan inside.")
    return None


# Files people pick by mistake, named so the message says what went wrong.
SIGNATURES = [
    (b"%PDF", "a PDF document"),
    (b"GIF8", "a GIF image"),
    (b"RIFF", "a WebP image or a media file"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a program"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\xd0\xcf\x11\xe0", "an Office document"),
    (b"<?xml", "an XML document"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
]


def identify_other(data: bytes) -> str | None:
    for magic, what in SIGNATURES:
        if data.startswith(magic):
            return what
    head = data[:4096]
    if head.lstrip().lower().startswith((b"<!doctype html", b"<html")):
        return "a web page"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if all(byte >= 9 for byte in head):
        return "a text file"
    return None


def refuse_known_non_scans(data: bytes, nested: bool) -> None:
    """No format of ours: refuses what it can name, and leaves the rest to Pillow."""
    what = identify_other(data)
    if what == "a text file" or what == "a web page":
        raise errors.unrecognised(what)
    if what is not None:
        advice = "Please unpack it and upload the scan inside, or make a ZIP of its folder."
        raise errors.unsupported(what, advice if "archive" in what else "")
    return None


BUILT_IN = (
    Reader("raster", read_raster, {"png": "PNG image", "jpeg": "JPEG image", "tiff": "TIFF image",
                                   "bmp": "BMP image"}, listed=("PNG", "JPEG", "TIFF", "BMP"), order=100),
    Reader("dicom", read_dicom, {"dicom": "DICOM"}, listed=("DICOM",), order=10),
    Reader("nifti", read_nifti, {"nifti": "NIfTI volume"}, listed=("NIfTI (.nii or .nii.gz)",), volume=True,
           upload_hint="a NIfTI file (.nii or .nii.gz)", order=30),
    # Not a format: the refusals that must come before Pillow's catch-all.
    Reader("not_scans", refuse_known_non_scans, {}, order=90),
)

"""Reading an uploaded file into grayscale slices, or refusing it with a reason a patient understands.

The format is decided by the file's content, never its name: DICOM by its
``DICM`` marker, NIfTI by its header (gzipped or not), the rest by Pillow
(PNG, JPEG, TIFF, BMP). Every path ends in 8-bit 2-D slices that pass the
same checks (:mod:`.quality`); whether the content is a brain MRI at all is
judged later, by the model (``mri.inference.ood``). A ZIP archive, or several files
uploaded together, is read as a DICOM series (:mod:`.series`).
"""

import logging
from dataclasses import dataclass, field

import numpy as np

from mri.io import archive, dicom, errors, nifti, quality, rasters, series
from mri.io.errors import ScanRejected
from mri.io.rasters import MAX_PIXELS

__all__ = ["FORMAT_NAMES", "MAX_PIXELS", "LeftOut", "Scan", "ScanRejected", "is_volume_format", "log_refusal",
           "read_scan"]

logger = logging.getLogger(__name__)

# ``source_format`` codes -> the name shown; a volume format's upload keeps its analysed slices (AssessmentSlice).
FORMAT_NAMES = {"png": "PNG image", "jpeg": "JPEG image", "tiff": "TIFF image", "bmp": "BMP image",
                "dicom": "DICOM", "nifti": "NIfTI volume", series.FORMAT: "DICOM series"}
VOLUME_FORMATS = {"nifti", series.FORMAT}


def is_volume_format(source_format):
    return source_format in VOLUME_FORMATS


def log_refusal(problem, what="An upload"):
    """One line for the server's log: the refusal's code, the check that made it and what it measured.

    Numbers and names of checks only: never the file's name, its header fields or its pixels.
    """
    logger.info("%s was refused (%s): check %s measured %s, limit %s", what, problem.code, problem.check,
                "-" if problem.measured is None else problem.measured, "-" if problem.limit is None else problem.limit)


@dataclass
class LeftOut:
    """A slice of a volume's band that a check refused: listed with the reason, not analysed."""

    position: int  # its axial index in the volume
    gray: np.ndarray
    check: str  # the check that refused it, a key of quality.CHECKS


@dataclass
class Scan:
    gray: np.ndarray  # 2-D uint8: the representative slice (the only one, or a volume's central one)
    source_format: str
    acquisition: dict = field(default_factory=dict)  # non-identifying fields only
    slices: list = field(default_factory=list)  # every slice to analyse, ``gray`` among them
    positions: list = field(default_factory=list)  # each slice's axial index in a volume
    left_out: list = field(default_factory=list)  # a volume's band slices the checks refused (LeftOut)
    series: list = field(default_factory=list)  # a DICOM series upload's series (series.SeriesInfo), analysed first
    band: nifti.Band | None = None  # a NIfTI volume's every band level, for its heatmap volume

    def __post_init__(self):
        if not self.slices:
            self.slices = [self.gray]

    @property
    def is_volume(self):
        return is_volume_format(self.source_format)


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


def identify_other(data):
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


def read_scan(data, max_bytes):
    """``data`` (bytes, or a list of bytes for several files) -> :class:`Scan`, or raise :class:`ScanRejected`
    (and say why in the server's log)."""
    try:
        return read_any(data, max_bytes)
    except ScanRejected as problem:
        log_refusal(problem)
        raise


def read_any(data, max_bytes, archives=True):
    if isinstance(data, (list, tuple)):
        if len(data) != 1:
            return read_files(data, max_bytes)
        data = data[0]
    if not data:
        raise errors.empty()
    if len(data) > max_bytes:
        raise errors.too_large(max_bytes).because("too_large", len(data), max_bytes)

    if dicom.is_dicom(data):
        gray, acquisition = dicom.read_dicom(data)
        quality.check_slice(gray)
        return Scan(gray=gray, source_format="dicom", acquisition=acquisition)

    if archive.is_zip(data):
        if not archives:
            raise errors.unsupported("a ZIP archive inside a ZIP archive", "Please upload the inner one.")
        return read_many(archive.zip_members(data))

    volume = nifti.sniff(data)
    if volume is not None:
        slices, positions, acquisition, band = nifti.read_nifti(*volume)
        return volume_scan(slices, positions, acquisition, band)
    if nifti.is_gzip(data):
        raise errors.unsupported("a compressed (.gz) file that is not a NIfTI volume",
                                 "Please unpack it and upload the scan inside.")

    what = identify_other(data)
    if what == "a text file" or what == "a web page":
        raise errors.unrecognised(what)
    if what is not None:
        advice = "Please unpack it and upload the scan inside, or make a ZIP of its folder."
        raise errors.unsupported(what, advice if "archive" in what else "")
    gray, source_format = rasters.read_raster(data)
    quality.check_slice(gray)
    return Scan(gray=gray, source_format=source_format)


def read_files(contents, max_bytes):
    """Several files uploaded together: the same size limit as one upload, for all of them."""
    total = sum(len(one) for one in contents)
    if total > max_bytes:
        raise errors.too_large(max_bytes).because("too_large", total, max_bytes)
    return read_many(archive.file_members(contents))


def read_many(members):
    """Several files: a DICOM series, or the one file they hold (hidden files aside) read on its own."""
    if len(members) == 1:
        return read_any(members[0].read(), archive.MAX_MEMBER_BYTES, archives=False)
    slices, positions, acquisition, band, found = series.read_series(members)
    scan = volume_scan(slices, positions, acquisition, band, series.FORMAT)
    scan.series = found
    return scan


def volume_scan(slices, positions, acquisition, band=None, source_format="nifti"):
    """Analyse the band's slices that pass the checks and list the others with the check that refused each;
    the central analysed one stands for the volume. A volume is refused only when no slice passes."""
    kept, kept_positions, left_out, first_problem = [], [], [], None
    for gray, position in zip(slices, positions):
        try:
            quality.check_slice(gray)
        except ScanRejected as problem:
            first_problem = first_problem or problem
            left_out.append(LeftOut(position=position, gray=gray, check=problem.check))
            log_refusal(problem, f"Slice {position} of a volume")
        else:
            kept.append(gray)
            kept_positions.append(position)
    if not kept:
        raise first_problem or errors.blank()
    middle = len(kept) // 2
    return Scan(gray=kept[middle], source_format=source_format, acquisition=acquisition,
                slices=kept, positions=kept_positions, left_out=left_out, band=band)

"""DICOM files from a scanner or a CD, read with pydicom.

Privacy: a DICOM header carries the patient's name, birth date, IDs and more.
Nothing here copies, logs or returns any of it: the only header values that
leave this module are the few acquisition fields in ``ACQUISITION_FIELDS``,
and errors are raised ``from None`` so no pydicom message (which may quote a
value) travels on in a traceback.
"""

import io
import re
from typing import Any

import numpy as np
import pydicom
import pydicom.config
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut, apply_voi_lut, pixel_array

from mri.arrays import Array, Gray
from mri.io import errors, quality
from mri.io.rasters import MAX_PIXELS

# pydicom's reading validation warns about odd values by quoting them: a
# malformed PatientName would end up in the logs. We never use those values.
pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE

# Modalities that may hold an MRI slice: MR itself, and secondary captures or
# files without a modality (exported screenshots of an MRI viewer).
MRI_MODALITIES = {"MR", "OT", "SC", ""}

# name shown -> DICOM keyword; nothing that identifies a person.
ACQUISITION_FIELDS = {
    "modality": "Modality",
    "field_strength_tesla": "MagneticFieldStrength",
    "sequence": "SequenceName",
    "scanning_sequence": "ScanningSequence",
    "slice_thickness_mm": "SliceThickness",
}


def is_dicom(data: bytes) -> bool:
    return len(data) >= 132 and data[128:132] == b"DICM"


def read_dicom(data: bytes) -> tuple[Gray, dict[str, Any]]:
    """``data`` -> ``(gray uint8, acquisition dict)`` or raise ScanRejected."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError, AttributeError):
        raise errors.unreadable("DICOM") from None
    except Exception:  # pydicom raises many kinds on a damaged header
        raise errors.unreadable("DICOM") from None

    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise errors.no_image()
    modality = str(ds.get("Modality", "") or "").strip().upper()
    if modality not in MRI_MODALITIES:
        raise errors.not_mri(modality)

    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
    except (AttributeError, TypeError, ValueError):
        raise errors.unreadable("DICOM") from None
    if rows * columns > MAX_PIXELS:
        raise errors.too_many_pixels(MAX_PIXELS).because("too_many_pixels", rows * columns, MAX_PIXELS)
    quality.check_geometry(columns, rows)

    # A multi-frame file is a stack: its middle frame is the one most likely to
    # show the brain at its widest. Only that frame is decoded.
    index = frames // 2
    try:
        raw = pixel_array(ds, index=index) if frames > 1 else ds.pixel_array
    except Exception:
        raise errors.unreadable("DICOM") from None

    if samples > 1:
        # pixel_array already converts YBR to RGB.
        rgb = np.asarray(raw)
        if rgb.ndim != 3 or rgb.shape[-1] != 3:
            raise errors.unreadable("DICOM")
        if quality.is_colour(rgb):
            raise errors.colour().because("colour", quality.colour_share(rgb), quality.COLOUR_PIXEL_FRACTION)
        gray = quality.rgb_to_gray(rgb)
    else:
        gray = render_gray(np.asarray(raw), ds)
    return gray, acquisition(ds)


def render_gray(raw: Array, ds: pydicom.Dataset) -> Gray:
    """Stored values -> 8-bit display: rescale, the file's window or a robust one, MONOCHROME1 inverted."""
    try:
        values = apply_modality_lut(raw, ds).astype(np.float32)
    except Exception:
        values = raw.astype(np.float32)
    if raw.ndim != 2:
        raise errors.unreadable("DICOM")

    gray: Gray | None = None
    if "VOILUTSequence" in ds:
        try:
            looked_up = apply_voi_lut(values, ds, index=0, prefer_lut=True).astype(np.float32)
            gray = quality.to_uint8(looked_up, float(looked_up.min()), float(looked_up.max()))
        except Exception:
            gray = None
    if gray is None:
        window = file_window(ds)
        if window is not None:
            centre, width = window
            # DICOM's linear window (PS3.3 C.11.2.1.2): centre - 0.5 and width - 1.
            low = centre - 0.5 - (width - 1) / 2
            high = centre - 0.5 + (width - 1) / 2
        else:
            low, high = quality.robust_window(values)
        gray = quality.to_uint8(values, low, high)
    if str(ds.get("PhotometricInterpretation", "")).strip().upper() == "MONOCHROME1":
        # MONOCHROME1 stores white as the lowest value: inverted, the brain is bright as usual.
        gray = 255 - gray
    return gray


def file_window(ds: pydicom.Dataset) -> tuple[float, float] | None:
    """The file's first (centre, width) window, if it has a usable one."""
    stored_centre, stored_width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if stored_centre is None or stored_width is None:
        return None
    try:
        centre = float(stored_centre[0] if isinstance(stored_centre, pydicom.multival.MultiValue) else stored_centre)
        width = float(stored_width[0] if isinstance(stored_width, pydicom.multival.MultiValue) else stored_width)
    except (TypeError, ValueError, IndexError):
        return None
    if not np.isfinite(centre) or not np.isfinite(width) or width <= 1:
        return None
    return centre, width


# The key under which ``acquisition`` passes on the day the scan was taken; the upload takes it out of the
# acquisition fields (assessments.scan_dates) and keeps it as the assessment's scan date.
SCAN_DATE = "scan_date"
# Where the day is said, best first: the study's day, then the acquisition's, then the series'.
DATE_KEYWORDS = ("StudyDate", "AcquisitionDate", "SeriesDate", "ContentDate")


def scan_date(ds: pydicom.Dataset) -> str | None:
    """The day the scan was taken as ``YYYY-MM-DD``, or None when the header does not say (or says nonsense)."""
    for keyword in DATE_KEYWORDS:
        value = re.sub(r"\D", "", str(ds.get(keyword, "") or ""))[:8]
        if len(value) == 8 and "1900" <= value[:4] <= "2999" and "01" <= value[4:6] <= "12" \
                and "01" <= value[6:] <= "31":
            return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return None


def acquisition(ds: pydicom.Dataset) -> dict[str, Any]:
    """The non-identifying acquisition fields worth showing, as plain short strings or numbers, and the scan's
    day under SCAN_DATE when the header has it."""
    day = scan_date(ds)
    result: dict[str, Any] = {SCAN_DATE: day} if day else {}
    for name, keyword in ACQUISITION_FIELDS.items():
        value = ds.get(keyword)
        if value is None or value == "":
            continue
        if isinstance(value, pydicom.multival.MultiValue):
            value = "\\".join(str(v) for v in value)
        if isinstance(value, (int, float)) or type(value).__name__ in ("DSfloat", "DSdecimal", "IS"):
            try:
                result[name] = round(float(value), 3)
                continue
            except (TypeError, ValueError):
                pass
        text = re.sub(r"[^\w*\\ .+-]", "", str(value))[:32].strip()
        if text:
            result[name] = text
    return result

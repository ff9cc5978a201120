"""Reading an uploaded file into a grayscale slice, or refusing it with a reason a patient understands."""

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class ScanRejected(Exception):
    """The upload cannot be analysed. ``code`` is for machines, ``message`` for people."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Scan:
    gray: np.ndarray  # 2-D uint8, what is stored and analysed
    source_format: str
    acquisition: dict = field(default_factory=dict)


def read_scan(data, max_bytes):
    """``data`` (bytes) -> :class:`Scan`, or raise :class:`ScanRejected`."""
    if not data:
        raise ScanRejected("empty", "The file is empty. Please choose your scan again.")
    if len(data) > max_bytes:
        raise ScanRejected(
            "too_large", f"The file is larger than {max_bytes // (1024 * 1024)} MB. Please upload a smaller file."
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            source_format = (image.format or "image").lower()
            gray = np.asarray(image.convert("L"))
    except Image.DecompressionBombError as exc:
        raise ScanRejected("too_many_pixels", "The image is far too large to be a scan slice.") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ScanRejected(
            "unreadable", "We could not read this file as an image. Please upload a PNG or JPEG brain MRI scan."
        ) from exc
    return Scan(gray=gray, source_format=source_format)

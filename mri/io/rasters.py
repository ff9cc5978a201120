"""PNG, JPEG, TIFF and BMP through Pillow: 8- or 16-bit, gray or RGB that is really gray."""

import io

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mri.arrays import Gray
from mri.io import errors, quality

# The most pixels of any slice, read or drawn (a NIfTI slice after resampling too): 4096 x 4096. MRI slices
# are 256 to 1024 pixels a side and a 12-megapixel phone photo is 4000 x 3000. Each pixel costs some 14
# bytes while a 16-bit image is read, so the cap bounds an upload's memory (tests.core.test_upload_memory).
MAX_PIXELS = 4096 * 4096
# Pillow raises DecompressionBombError only above twice this limit and merely
# warns between 1x and 2x, so read_raster also checks the size itself (before
# decoding a single pixel).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

FORMATS = ("PNG", "JPEG", "TIFF", "BMP")


def read_raster(data: bytes) -> tuple[Gray, str]:
    """``data`` -> ``(gray uint8, format name)`` or raise ScanRejected."""
    try:
        image: Image.Image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError:
        raise errors.too_many_pixels(MAX_PIXELS) from None
    except UnidentifiedImageError:
        raise errors.unrecognised() from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise errors.unreadable(kind_by_signature(data)) from None
    kind = image.format if image.format in FORMATS else "image"
    with image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise errors.too_many_pixels(MAX_PIXELS).because("too_many_pixels", width * height, MAX_PIXELS)
        # Geometry first: a 10x10 000 sliver is refused without decoding it.
        quality.check_geometry(width, height)
        try:
            image.load()
            # A phone photo of a screen may be stored sideways with an EXIF note.
            image = ImageOps.exif_transpose(image)
            gray = to_gray(image)
        except errors.ScanRejected:
            raise
        except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
            raise errors.unreadable(kind) from None
    return gray, kind.lower()


SIGNATURES = {b"\x89PNG": "PNG", b"\xff\xd8": "JPEG", b"II*\x00": "TIFF", b"MM\x00*": "TIFF", b"BM": "BMP"}


def kind_by_signature(data: bytes) -> str:
    return next((kind for magic, kind in SIGNATURES.items() if data.startswith(magic)), "image")


def to_gray(image: Image.Image) -> Gray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F", "I;16N"):
        # 16-bit and float images: the same robust window as DICOM without one.
        values = np.asarray(image, dtype=np.float32)
        return quality.to_uint8(values, *quality.robust_window(values), overwrite=True)
    if mode == "1":
        return np.asarray(image.convert("L"))
    if mode == "L":
        return np.asarray(image)
    if mode in ("LA", "La", "PA", "RGBA", "RGBa", "P") or "transparency" in image.info:
        # Transparent areas become black background, as around a scan.
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
        alpha = rgba[..., 3:] / 255.0
        rgb = rgba[..., :3] * alpha
    else:
        rgb = np.asarray(image if mode == "RGB" else image.convert("RGB"))
    if quality.is_colour(rgb):
        raise errors.colour().because("colour", quality.colour_share(rgb), quality.COLOUR_PIXEL_FRACTION)
    return quality.rgb_to_gray(rgb)

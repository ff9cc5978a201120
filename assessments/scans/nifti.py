"""NIfTI volumes (.nii, .nii.gz) from research pipelines, read with nibabel.

A volume is reoriented to the closest canonical (RAS) orientation and a band
of axial slices over its middle third is rendered, all with one intensity
window so the slices stay comparable. Each slice is shown as radiologists look
at an axial image: anterior at the top, the patient's right on the left.
"""

import struct
import zlib

import cv2
import nibabel as nib
import numpy as np

from . import errors
from .quality import robust_window, to_uint8

BAND_SLICES = 9
# Voxels of the one 3-D volume we read (256^3 is 16.8 M); also caps what a
# small .nii.gz may inflate to.
MAX_VOXELS = 64_000_000
MAX_INFLATED_BYTES = 512 * 1024 * 1024


def is_gzip(data):
    return data[:2] == b"\x1f\x8b"


def nifti_version(header_bytes):
    """1 or 2 for a single-file NIfTI header, ``"pair"`` for a .hdr/.img header, else None."""
    if len(header_bytes) < 348:
        return None
    for endian in "<>":
        size = struct.unpack(endian + "i", header_bytes[:4])[0]
        if size == 348:
            magic = header_bytes[344:348]
            if magic == b"n+1\x00":
                return 1
            if magic == b"ni1\x00":
                return "pair"
        if size == 540 and header_bytes[4:8] in (b"n+2\x00", b"ni2\x00"):
            return 2 if header_bytes[4:8] == b"n+2\x00" else "pair"
    return None


def gunzip(data):
    """Inflate at most MAX_INFLATED_BYTES: a tiny .gz must not become a memory bomb."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_INFLATED_BYTES)
    except zlib.error:
        raise errors.unreadable("compressed (.gz)") from None
    if inflater.unconsumed_tail:
        raise errors.too_many_pixels(MAX_VOXELS)
    return out


def read_nifti(raw, version):
    """Uncompressed NIfTI bytes -> ``(slices, positions, acquisition)`` or raise ScanRejected."""
    if version == "pair":
        raise errors.unsupported("a NIfTI header without its image (a .hdr/.img pair)",
                                 "Please convert it to a single .nii or .nii.gz file and upload that.")
    image_class = nib.Nifti1Image if version == 1 else nib.Nifti2Image
    try:
        image = image_class.from_bytes(raw)
        shape = image.shape
    except Exception:
        raise errors.unreadable("NIfTI") from None
    if len(shape) < 2 or any(int(n) < 1 for n in shape):
        raise errors.unreadable("NIfTI")
    if int(np.prod(shape[:3])) > MAX_VOXELS:
        raise errors.too_many_pixels(MAX_VOXELS)
    try:
        if len(shape) == 2:
            image = image_class(np.asarray(image.dataobj)[:, :, None], image.affine)
        elif len(shape) > 3:
            # A 4-D (or higher) file is a series of volumes: the first one is analysed.
            image = image.slicer[(slice(None),) * 3 + (0,) * (len(shape) - 3)]
        image = nib.as_closest_canonical(image)
        volume = np.asarray(image.dataobj, dtype=np.float32)
    except Exception:
        raise errors.unreadable("NIfTI") from None
    if volume.ndim != 3:
        raise errors.unreadable("NIfTI")
    spacing = nib.affines.voxel_sizes(image.affine)
    return render_band(volume, spacing)


def band_positions(depth, count=BAND_SLICES):
    """``count`` evenly spaced axial positions over the middle third of ``depth`` slices."""
    if depth <= 2:
        return list(range(depth))
    start, stop = depth / 3.0, 2.0 * depth / 3.0
    positions = np.unique(np.round(np.linspace(start, stop - 1, count)).astype(int))
    return [int(p) for p in np.clip(positions, 0, depth - 1)]


def render_band(volume, spacing):
    volume = np.nan_to_num(volume, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = robust_window(volume.ravel()[:: max(1, volume.size // 2_000_000)])
    positions = band_positions(volume.shape[2])
    slices = [axial_image(to_uint8(volume[:, :, z], low, high), spacing) for z in positions]
    acquisition = {"slice_thickness_mm": round(float(spacing[2]), 3)} if np.isfinite(spacing[2]) else {}
    return slices, positions, acquisition


def axial_image(plane, spacing):
    """RAS plane (x, y) -> image rows anterior-to-posterior, columns patient's right-to-left."""
    image = np.ascontiguousarray(np.flipud(np.fliplr(plane.T)))
    sx, sy = float(spacing[0]), float(spacing[1])
    if np.isfinite(sx) and np.isfinite(sy) and sx > 0 and sy > 0 and abs(sx - sy) > 0.01 * min(sx, sy):
        # Square pixels, so the brain keeps its shape in the model's square input.
        finest = min(sx, sy)
        height, width = image.shape
        size = (max(1, round(width * sx / finest)), max(1, round(height * sy / finest)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    return image


def sniff(data):
    """``(raw uninflated bytes, version)`` if ``data`` is NIfTI (maybe gzipped), else None."""
    if is_gzip(data):
        head = gzip_head(data)
        if nifti_version(head) is None:
            return None
        raw = gunzip(data)
        return raw, nifti_version(raw[:540])
    version = nifti_version(data[:540])
    return (data, version) if version is not None else None


def gzip_head(data, size=540):
    """The first inflated bytes of a gzip stream, without inflating the rest."""
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, size)
    except zlib.error:
        return b""


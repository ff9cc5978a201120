"""NIfTI volumes (.nii, .nii.gz) from research pipelines, read with nibabel.

A volume is reoriented to the closest canonical (RAS) orientation and a band
of axial slices is rendered, chosen by what the volume holds (see
:func:`band_range`), all with one intensity window so the slices stay
comparable. Each slice is shown as radiologists look at an axial image:
anterior at the top, the patient's right on the left.
"""

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import nibabel as nib
import numpy as np

from mri.arrays import Array, Gray
from mri.io import errors
from mri.io.quality import robust_window, to_uint8
from mri.io.rasters import MAX_PIXELS
from mri.io.voxels import MAX_INFLATED_BYTES, MAX_VOLUME_BYTES, MAX_VOXELS, Gzipped, decoding, read_voxels

BAND_SLICES = 9
__all__ = ["MAX_INFLATED_BYTES", "MAX_VOLUME_BYTES", "MAX_VOXELS", "decoding"]
def is_gzip(data: bytes) -> bool:
    return data[:2] == b"\x1f\x8b"


def nifti_version(header_bytes: bytes) -> str | int | None:
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


@dataclass
class Band:
    """Every axial level of a volume's band, rendered, and what maps a level back onto the file's voxel grid."""

    slices: list[Gray]  # 2-D uint8 images, as axial_image renders them
    positions: list[int]  # their axial indices in the RAS volume
    ras_volume: Array  # the whole RAS volume in the band's intensity window (uint8)
    ras_affine: Array
    file_affine: Array  # the uploaded file's own voxel grid
    spacing: tuple[float, ...]

    def chosen(self, count: int = BAND_SLICES) -> tuple[list[Gray], list[int]]:
        """``(slices, positions)`` of ``count`` evenly spaced levels (the ones the result rests on)."""
        picks = np.unique(np.round(np.linspace(0, len(self.positions) - 1, count)).astype(int))
        return [self.slices[i] for i in picks], [self.positions[i] for i in picks]

    def plane_shape(self) -> tuple[int, ...]:
        return tuple(self.ras_volume.shape[:2])

    def to_file_grid(self, ras_array: Array) -> Any:
        """A RAS array of the volume's shape as a NIfTI image on the uploaded file's voxel grid and affine."""
        image = nib.Nifti1Image(np.asarray(ras_array), self.ras_affine)
        there = nib.orientations.io_orientation(self.file_affine)
        here = nib.orientations.io_orientation(self.ras_affine)
        return image.as_reoriented(nib.orientations.ornt_transform(here, there))


def read_nifti(raw: bytes, version: str | int) -> tuple[list[Gray], list[int], dict[str, Any], Band]:
    """Uncompressed NIfTI bytes (or a :class:`Gzipped` file) -> ``(slices, positions, acquisition, band)`` or
    raise ScanRejected.

    ``slices`` are BAND_SLICES levels of the band (what the result rests on); ``band`` every level of it.
    At the peak it holds the float32 volume and its 8-bit copy (5 bytes a voxel), nothing of the volume's size
    more: the window, the band and the copy are worked out in place or a slab at a time.
    """
    volume, ras_affine, file_affine = read_volume_image(raw, version)
    spacing = tuple(float(v) for v in nib.affines.voxel_sizes(ras_affine))
    make_finite(volume)
    low, high = robust_window(window_sample(volume))
    slices, positions, acquisition = render_band(volume, spacing, count=None)
    band = Band(slices=slices, positions=positions, ras_volume=volume_to_uint8(volume, low, high),
                ras_affine=ras_affine, file_affine=file_affine, spacing=spacing)
    chosen, chosen_positions = band.chosen()
    return chosen, chosen_positions, acquisition, band


WINDOW_SAMPLE = 2_000_000


def make_finite(volume: Array, slab: int = 16) -> Array:
    """NaN and infinities to 0, in place and a slab at a time (nan_to_num of the whole volume makes a mask of
    it per kind); nothing to do, and nothing allocated, when min and max are finite."""
    if not volume.size or (np.isfinite(volume.min()) and np.isfinite(volume.max())):
        return volume
    for z in range(0, volume.shape[2], slab):
        np.nan_to_num(volume[:, :, z:z + slab], copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return volume


def window_sample(volume: Array, block: int = 262_144) -> Array:
    """Every n-th voxel in C order, at most about WINDOW_SAMPLE of them (the intensity window's sample):
    gathered a block of indices at a time, where ``volume.ravel()`` would copy a Fortran-ordered volume whole."""
    step = max(1, volume.size // WINDOW_SAMPLE)
    if volume.flags.c_contiguous:
        return volume.ravel()[::step]
    flat_indices = np.arange(0, volume.size, step)
    return np.concatenate([volume[np.unravel_index(flat_indices[i:i + block], volume.shape)]
                           for i in range(0, flat_indices.size, block)])


def volume_to_uint8(volume: Array, low: float, high: float, slab: int = 16) -> Gray:
    """:func:`to_uint8` of a whole volume, a slab of axial levels at a time (no float copy of the volume)."""
    out = np.empty(volume.shape, dtype=np.uint8)
    for z in range(0, volume.shape[2], slab):
        out[:, :, z:z + slab] = to_uint8(volume[:, :, z:z + slab], low, high)
    return out


def read_volume(raw: bytes, version: str | int) -> tuple[Array, Array]:
    """Uncompressed NIfTI bytes -> ``(RAS float32 volume, voxel sizes in mm)`` or raise ScanRejected."""
    volume, ras_affine, _ = read_volume_image(raw, version)
    return volume, nib.affines.voxel_sizes(ras_affine)


def read_volume_image(raw: bytes, version: str | int) -> tuple[Array, Array, Array]:
    """Uncompressed NIfTI bytes (or a :class:`Gzipped` file) -> ``(RAS float32 volume, its affine, the file's
    own affine)`` or raise ScanRejected. A 4-D (or higher) file is a series of volumes: the first one is
    analysed, and only it is decoded."""
    if version == "pair":
        raise errors.unsupported("a NIfTI header without its image (a .hdr/.img pair)",
                                 "Please convert it to a single .nii or .nii.gz file and upload that.")
    image_class: Any = nib.Nifti1Image if version == 1 else nib.Nifti2Image  # nibabel has no types
    voxels, file_affine = read_voxels(raw, version)
    try:
        image = nib.as_closest_canonical(image_class(voxels, file_affine))
        volume = np.asarray(image.dataobj, dtype=np.float32)
    except Exception:
        raise errors.unreadable("NIfTI") from None
    if volume.ndim != 3:
        raise errors.unreadable("NIfTI")
    return volume, image.affine, file_affine


# The band is chosen by the brain's axial cross-section (the area inside the head's outline on each slice),
# not by where the volume's array happens to start and stop: a 2 mm template-space volume (91x109x91) has
# 36 mm of empty space above the brain and its middle third starts in the cerebellum. The cross-section is
# largest from the temporal lobes up to the ventricles (MNI152: within 3% of its largest from z = -12 to
# +16 mm); below that level the slice splits into temporal lobes, brainstem and cerebellum, above it the
# brain narrows towards the vertex. The band runs from the middle of that widest level (MNI152: z = +2 mm,
# the third ventricle) up to where the cross-section has shrunk to 75% of its largest (z = +44 mm, above
# the lateral ventricles): the slices through the ventricles, like the training slices.
BAND_FOREGROUND = 0.1  # a voxel is head above this share of the volume's robust maximum (as quality.layout)
BAND_WIDEST = 0.97  # slices within 3% of the largest cross-section make up the widest level
BAND_TOP = 0.75  # the band reaches up to the last slice with at least 75% of the largest cross-section
BAND_SMOOTH_MM = 10.0  # the cross-sections are averaged over 10 mm, so one odd slice cannot move the band


def cross_sections(volume: Array, spacing: Sequence[float] = (1.0, 1.0, 1.0), high: float | None = None) -> Array:
    """Area (mm^2) inside the head's outlines on each axial slice of a RAS ``volume``."""
    if high is None:
        high = robust_window(window_sample(volume))[1]
    sx, sy = (float(s) if np.isfinite(s) and s > 0 else 1.0 for s in spacing[:2])
    areas = []
    for z in range(volume.shape[2]):
        # A level at a time: a mask of the whole volume would cost a byte a voxel more at the peak.
        if not high > 0:
            areas.append(0.0)
            continue
        foreground = (volume[:, :, z] > BAND_FOREGROUND * high).astype(np.uint8)
        contours, _ = cv2.findContours(foreground, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        # The filled outlines: dark ventricles inside the brain are part of its cross-section.
        areas.append(sum(cv2.contourArea(c) for c in contours))
    return np.asarray(areas, dtype=np.float64) * sx * sy


def band_range(volume: Array, spacing: Sequence[float] = (1.0, 1.0, 1.0),
               high: float | None = None) -> tuple[int, int]:
    """``(first, last)`` axial indices of the band: from the widest level up to 75% of its cross-section."""
    depth = volume.shape[2]
    areas = cross_sections(volume, spacing, high)
    if depth <= 2 or not areas.max() > 0:
        return 0, depth - 1
    sz = float(spacing[2]) if np.isfinite(spacing[2]) and spacing[2] > 0 else 1.0
    width = max(1, int(round(BAND_SMOOTH_MM / sz)))
    smooth = np.convolve(np.pad(areas, width // 2, mode="edge"), np.ones(width) / width, mode="valid")[:depth]
    peak = int(np.argmax(smooth))
    low = high_ = peak
    while low > 0 and smooth[low - 1] >= BAND_WIDEST * smooth[peak]:
        low -= 1
    while high_ < depth - 1 and smooth[high_ + 1] >= BAND_WIDEST * smooth[peak]:
        high_ += 1
    first = (low + high_) // 2
    last = first
    while last < depth - 1 and smooth[last + 1] >= BAND_TOP * smooth[peak]:
        last += 1
    return first, last


def band_positions(volume: Array, spacing: Sequence[float] = (1.0, 1.0, 1.0), count: int = BAND_SLICES,
                   high: float | None = None) -> list[int]:
    """``count`` evenly spaced axial positions over :func:`band_range` (fewer if the band is thinner)."""
    first, last = band_range(volume, spacing, high)
    positions = np.unique(np.round(np.linspace(first, last, count)).astype(int))
    return [int(p) for p in positions]


def render_band(volume: Array, spacing: Sequence[float],
                count: int | None = BAND_SLICES) -> tuple[list[Gray], list[int], dict[str, Any]]:
    """``(slices, positions, acquisition)``: ``count`` slices of the band, or every one of its levels if None."""
    # NaN and inf make min or max non-finite: a copy only when there is one to clean.
    if volume.size and not (np.isfinite(volume.min()) and np.isfinite(volume.max())):
        volume = np.nan_to_num(volume, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = robust_window(window_sample(volume))
    if count is None:
        first, last = band_range(volume, spacing, high)
        positions = list(range(first, last + 1))
    else:
        positions = band_positions(volume, spacing, count, high)
    slices = [axial_image(to_uint8(volume[:, :, z], low, high), spacing) for z in positions]
    acquisition = {"slice_thickness_mm": round(float(spacing[2]), 3)} if np.isfinite(spacing[2]) else {}
    return slices, positions, acquisition


def axial_image(plane: Array, spacing: Sequence[float]) -> Gray:
    """RAS plane (x, y) -> image rows anterior-to-posterior, columns patient's right-to-left."""
    image = np.ascontiguousarray(np.flipud(np.fliplr(plane.T)))
    height, width = image.shape
    size = (width, height)
    sx, sy = float(spacing[0]), float(spacing[1])
    if np.isfinite(sx) and np.isfinite(sy) and sx > 0 and sy > 0 and abs(sx - sy) > 0.01 * min(sx, sy):
        # Square pixels, so the brain keeps its shape in the model's square input.
        finest = min(sx, sy)
        size = (max(1, round(width * sx / finest)), max(1, round(height * sy / finest)))
    # The slice as it will be drawn, before drawing it: a tiny file whose voxels are 2000 times longer one way
    # than the other would otherwise be stretched into a huge picture.
    if size[0] * size[1] > MAX_PIXELS:
        raise errors.too_many_pixels(MAX_PIXELS).because("too_many_pixels", size[0] * size[1], MAX_PIXELS)
    if size != (width, height):
        image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    return image


def from_axial_image(image: Array, plane_shape: Sequence[int]) -> Array:
    """Inverse of :func:`axial_image`: an image over a rendered slice back onto the RAS plane (x, y)."""
    nx, ny = plane_shape
    image = np.asarray(image, dtype=np.float32)
    if image.shape != (ny, nx):
        image = cv2.resize(image, (nx, ny), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(np.fliplr(np.flipud(image)).T)


def sniff(data: bytes) -> tuple[bytes, str | int] | None:
    """``(raw bytes or Gzipped, version)`` if ``data`` is NIfTI (maybe gzipped), else None. Nothing beyond the
    header is inflated here."""
    if is_gzip(data):
        version = nifti_version(gzip_head(data))
        return None if version is None else (Gzipped(data), version)
    version = nifti_version(data[:540])
    return (data, version) if version is not None else None


def gzip_head(data: bytes, size: int = 540) -> bytes:
    """The first inflated bytes of a gzip stream, without inflating the rest."""
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, size)
    except zlib.error:
        return b""

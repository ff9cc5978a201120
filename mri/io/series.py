"""A DICOM series read as a volume: a scanner's export as a ZIP, a hospital CD's folder, or its files chosen together.

1. Which files: a DICOMDIR, when there is one, is read and only the files its IMAGE records list are opened (its
   reports, presentation states and other records are not images). Without one, every file with the ``DICM``
   marker is; anything else (a viewer program, a text file) is passed over, as are non-image objects found by
   their SOP class (structured reports, presentation states). Only headers are read here, never pixels.
2. Files are grouped by ``SeriesInstanceUID``. A series is skipped, with the reason, when it is not MR, is a
   localiser (``ImageType`` LOCALIZER, or its description), does not say where its slices lie, mixes planes or
   sizes, has fewer slices than the band analyses, is not evenly stacked, or is too coarse to give axial slices.
3. Of the rest: T1-weighted first (the description's sequence words, else TR/TE/TI), then original over derived
   images, 3-D over 2-D acquisitions, axial, the finest axial pixels, the most slices. When no series is known to be
   T1-weighted the best of the others is analysed, and the page says so.
4. Slices are ordered along the slice normal by ``ImagePositionPatient`` with highdicom's
   ``get_volume_positions`` (duplicates and missing slices allowed; spacing regular within 1%), missing slices
   are filled in from their neighbours, and highdicom's :class:`Volume` gives the NIfTI affine. The volume then
   takes the NIfTI path (:func:`.nifti.read_nifti`) unchanged.

Only headers of the chosen series' files are kept, one value at a time (nothing that names the patient), and a
slice's pixels are decoded one file at a time into the volume.
"""

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pydicom
from highdicom import Volume
from highdicom.spatial import get_normal_vector, get_volume_positions
from pydicom.pixels import apply_modality_lut

from mri.arrays import Array, Gray
from mri.io import dicom, errors, nifti, series_tags
from mri.io.archive import Member
from mri.io.errors import ScanRejected

logger = logging.getLogger(__name__)

FORMAT = "dicom_series"
# SOP classes that are never images: structured reports, presentation states, the media directory, encapsulated
# documents, waveforms, raw data and registrations (DICOM PS3.4 annex B).
NON_IMAGE_CLASSES = ("1.2.840.10008.5.1.4.1.1.88.", "1.2.840.10008.5.1.4.1.1.11.", "1.2.840.10008.1.3.10",
                     "1.2.840.10008.5.1.4.1.1.104.", "1.2.840.10008.5.1.4.1.1.9.", "1.2.840.10008.5.1.4.1.1.66")
# The coarsest axial pixels the real-variety bench analyses in full (its template_3mm kind, docs/formats.md).
MAX_AXIAL_SPACING_MM = 3.0
# A gap wider than the length the band's cross-sections are averaged over would be invented anatomy.
MAX_GAP_MM = nifti.BAND_SMOOTH_MM

# Why a series was not analysed: the one vocabulary of the page, the API and the admin (ScanSeries.Skipped).
SKIPPED = {
    "not_mri": "not an MRI series",
    "localiser": "a localiser, taken to plan the scan",
    "multi_frame": "a multi-frame file, which is not read as a volume",
    "no_geometry": "its files do not say where each slice lies",
    "mixed": "its slices lie in more than one direction or differ in size",
    "too_few_slices": "too few slices to make a volume",
    "irregular": "its slices are not evenly stacked, or too many are missing",
    "coarse": "its slices are too far apart to make axial slices from",
    "too_large": "too many voxels",
    "unreadable": "its files could not be decoded",
    "not_chosen": "another series suited the analysis better",
}


@dataclass
class Header:
    """What one file's header says about its slice: geometry and kind, nothing about the patient."""

    member: Member
    series_uid: str
    modality: str
    position: tuple[float, ...] | None
    orientation: tuple[float, ...] | None
    pixel_spacing: tuple[float, ...] | None
    shape: tuple[int, int]
    frames: int
    instance: int
    number: int  # SeriesNumber: the order the scanner took the series in
    words: str
    weighting: str
    localiser: bool
    original: bool
    three_d: bool
    inverted: bool
    acquisition: dict[str, Any]


@dataclass
class SeriesInfo:
    """A series as the page, the API and the database see it (ScanSeries)."""

    description: str
    weighting: str
    plane: str
    slice_count: int
    analysed: bool
    skipped_because: str = ""
    missing_slices: int = 0


@dataclass
class Series:
    headers: list[Header]
    reason: str = ""
    spacing: float | None = None
    indices: list[int] = field(default_factory=list)

    @property
    def first(self) -> Header:
        return self.headers[0]

    @property
    def plane(self) -> str:
        planes = {series_tags.plane(h.orientation) for h in self.headers if h.orientation}
        return planes.pop() if len(planes) == 1 else "several planes" if planes else ""

    def axial_spacing(self) -> float:
        first = self.first
        if first.orientation is None or first.pixel_spacing is None or self.spacing is None:
            raise ValueError("the series' geometry is checked (skip_reason) before its spacing is asked for")
        sizes = series_tags.world_spacing(first.orientation, first.pixel_spacing, self.spacing)
        return max(sizes[:2])

    def info(self, analysed: bool, missing: int = 0) -> SeriesInfo:
        return SeriesInfo(description=self.first.words, weighting=self.first.weighting, plane=self.plane,
                          slice_count=len(self.headers), analysed=analysed,
                          skipped_because="" if analysed else self.reason, missing_slices=missing)


def floats(ds: pydicom.Dataset, keyword: str, count: int) -> tuple[float, ...] | None:
    try:
        values = tuple(float(v) for v in ds.get(keyword))
    except (TypeError, ValueError):
        return None
    return values if len(values) == count and all(np.isfinite(values)) else None


def header_of(ds: pydicom.Dataset, member: Member) -> Header | None:
    sop_class = str(ds.get("SOPClassUID", "") or "")
    if sop_class.startswith(NON_IMAGE_CLASSES) or "Rows" not in ds or "Columns" not in ds:
        return None
    words = series_tags.description_words(str(ds.get("SeriesDescription") or ds.get("ProtocolName") or ""))
    try:
        shape, frames = (int(ds.Rows), int(ds.Columns)), int(ds.get("NumberOfFrames", 1) or 1)
        instance = int(ds.get("InstanceNumber", 0) or 0)
        number = int(ds.get("SeriesNumber", 0) or 0)
    except (TypeError, ValueError):
        return None
    return Header(
        member=member, series_uid=str(ds.get("SeriesInstanceUID", "") or ""),
        modality=str(ds.get("Modality", "") or "").strip().upper(),
        position=floats(ds, "ImagePositionPatient", 3), orientation=floats(ds, "ImageOrientationPatient", 6),
        pixel_spacing=floats(ds, "PixelSpacing", 2), shape=shape, frames=frames, instance=instance, number=number,
        words=words,
        weighting=series_tags.weighting(ds, words), localiser=series_tags.is_localiser(ds, words),
        original=series_tags.is_original(ds), three_d=str(ds.get("MRAcquisitionType", "")).upper() == "3D",
        inverted=str(ds.get("PhotometricInterpretation", "")).strip().upper() == "MONOCHROME1",
        acquisition=dicom.acquisition(ds),
    )


def read_header(member: Member) -> Header | None:
    """The :class:`Header` of an image file, or None for anything else (no marker, not an image, damaged)."""
    try:
        with member.open() as fh:
            if fh.read(132)[128:132] != b"DICM":
                return None
            fh.seek(0)
            ds = pydicom.dcmread(fh, stop_before_pixels=True)
        return header_of(ds, member)
    except Exception:  # one damaged file among many is passed over like a file that is not DICOM
        return None


def normal_name(name: str) -> str:
    # CD file systems (ISO 9660) write upper-case names with a ";1" version; a DICOMDIR may list them either way.
    return str(PurePosixPath(name.replace("\\", "/"))).upper().split(";")[0]


def indexed_members(members: Sequence[Member]) -> list[Member] | None:
    """The files a DICOMDIR lists as images, or None when there is no usable DICOMDIR."""
    index = next((m for m in members if PurePosixPath(m.name).name.upper() == "DICOMDIR"), None)
    if index is None:
        return None
    try:
        records = pydicom.dcmread(io.BytesIO(index.read())).DirectoryRecordSequence
    except ScanRejected:
        raise
    except Exception:
        return None
    base = PurePosixPath(index.name).parent
    by_name = {normal_name(m.name): m for m in members}
    listed: list[Member] = []
    for record in records:
        file_id = record.get("ReferencedFileID")
        if str(record.get("DirectoryRecordType", "")).upper() != "IMAGE" or not file_id:
            continue
        parts = [file_id] if isinstance(file_id, str) else [str(part) for part in file_id]
        member = by_name.get(normal_name(str(base.joinpath(*parts))))
        if member is not None:
            listed.append(member)
    return listed or None


def group(headers: Sequence[Header]) -> list[Series]:
    by_uid: dict[str, list[Header]] = {}
    for header in headers:
        by_uid.setdefault(header.series_uid, []).append(header)
    found = [Series(headers=sorted(one, key=lambda h: h.instance)) for one in by_uid.values()]
    return sorted(found, key=lambda s: (s.first.number, len(s.headers)))


Located = tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]


def located(headers: Sequence[Header]) -> list[Located] | None:
    """Each file's ``(position, orientation, pixel spacing)``, or None when one of them does not say."""
    found = []
    for h in headers:
        if h.position is None or h.orientation is None or h.pixel_spacing is None:
            return None
        found.append((h.position, h.orientation, h.pixel_spacing))
    return found


def skip_reason(series: Series) -> str:
    """Why ``series`` cannot be analysed ('' if it can); sets its slice spacing and each file's index."""
    headers, first = series.headers, series.first
    if first.modality not in dicom.MRI_MODALITIES:
        return "not_mri"
    if any(h.localiser for h in headers):
        return "localiser"
    if any(h.frames > 1 for h in headers):
        return "multi_frame"
    geometry = located(headers)
    if geometry is None:
        return "no_geometry"
    _, orientation, pixel_spacing = geometry[0]
    if any(h.shape != first.shape or not np.allclose(o, orientation, atol=1e-3)
           or not np.allclose(s, pixel_spacing, rtol=1e-3) for h, (_, o, s) in zip(headers, geometry)):
        return "mixed"
    positions = [p for p, _, _ in geometry]
    if len(set(positions)) < nifti.BAND_SLICES:
        return "too_few_slices"
    spacing, indices = get_volume_positions(positions, orientation, allow_missing_positions=True,
                                            allow_duplicate_positions=True,
                                            spacing_hint=fitted_spacing(positions, orientation))
    if spacing is None or indices is None or spacing <= 0 or np.diff(sorted(set(indices))).max() * spacing > MAX_GAP_MM:
        return "irregular"
    series.spacing, series.indices = float(spacing), list(indices)
    if (max(indices) + 1) * first.shape[0] * first.shape[1] > nifti.MAX_VOXELS:
        return "too_large"
    if series.axial_spacing() > MAX_AXIAL_SPACING_MM:
        return "coarse"
    return ""


def fitted_spacing(positions: Sequence[Sequence[float]], orientation: Sequence[float]) -> float | None:
    """The slice spacing fitted over every slice. Without a hint highdicom takes the smallest gap between two
    slices, whose rounding error grows with each slice: on 95 slices written with 6 significant digits, 0.045 mm
    off at the far end, and the series was called irregular."""
    distances = np.unique(np.round(np.asarray(positions) @ get_normal_vector(orientation), 6))
    if len(distances) < 2:
        return None
    steps = np.round((distances - distances[0]) / np.median(np.diff(distances)))
    slope = np.polyfit(steps, distances, 1)[0]
    return float(abs(slope)) if np.isfinite(slope) and abs(slope) > 0 else None


def preference(series: Series) -> tuple[bool, bool, bool, bool, float, int]:
    first = series.first
    return (first.weighting == "T1", first.original, first.three_d, series.plane == "axial",
            -series.axial_spacing(), len(series.headers))


def decode(header: Header) -> Array:
    """One file's slice in real-world values (modality LUT applied), as float32."""
    try:
        ds = pydicom.dcmread(io.BytesIO(header.member.read()))
        values = apply_modality_lut(ds.pixel_array, ds).astype(np.float32)
    except ScanRejected:
        raise
    except Exception:
        raise errors.unreadable("DICOM") from None
    if values.shape != header.shape:
        raise errors.unreadable("DICOM")
    return values


def build_image(series: Series) -> tuple[Any, int]:
    """``(nibabel image, missing slices filled in)`` of a series that passed :func:`skip_reason`."""
    first = series.first
    depth = max(series.indices) + 1
    volume = np.zeros((depth, *first.shape), dtype=np.float32)
    filled = np.zeros(depth, dtype=bool)
    for header, index in zip(series.headers, series.indices):
        if not filled[index]:  # the same position twice: the first instance stands
            volume[index] = decode(header)
            filled[index] = True
    present = np.flatnonzero(filled)
    for gap in np.flatnonzero(~filled):
        below, above = present[present < gap].max(), present[present > gap].min()
        weight = (gap - below) / (above - below)
        volume[gap] = (1 - weight) * volume[below] + weight * volume[above]
    if first.inverted:
        volume = volume.max() - volume
    start = series.headers[series.indices.index(0)]
    if start.position is None or first.orientation is None or first.pixel_spacing is None or series.spacing is None:
        raise ValueError("the series' geometry is checked (skip_reason) before it is built")
    image = Volume.from_attributes(array=volume, image_position=start.position, image_orientation=first.orientation,
                                   pixel_spacing=first.pixel_spacing, spacing_between_slices=series.spacing,
                                   coordinate_system="PATIENT").to_nibabel()
    return image, int(depth - len(present))


def choose(members: Sequence[Member]) -> tuple[Series, Any, int, list[Series]]:
    """``(chosen Series, nibabel image, missing slices, every Series)``, or raise ScanRejected("no_series")."""
    listed = indexed_members(members)
    headers = [h for h in map(read_header, members if listed is None else listed) if h is not None]
    found = group(headers)
    for series in found:
        series.reason = skip_reason(series)
    candidates = sorted((s for s in found if not s.reason), key=preference, reverse=True)
    for chosen in candidates:
        try:
            image, missing = build_image(chosen)
        except ScanRejected as problem:
            if problem.code != "unreadable":
                raise
            chosen.reason = "unreadable"
            continue
        for other in candidates:
            other.reason = other.reason or ("" if other is chosen else "not_chosen")
        return chosen, image, missing, found
    reasons = sorted({SKIPPED[s.reason] for s in found})
    summary = f"{len(found)} series, " + "; ".join(reasons) if found else "none of the files is a DICOM image"
    raise errors.no_series(summary).because("no_series", len(found))


def read_series(members: Sequence[Member]) -> tuple[list[Gray], list[int], dict[str, Any], nifti.Band,
                                                     list[SeriesInfo]]:
    """Members of an upload -> ``(slices, positions, acquisition, band, [SeriesInfo])``: the chosen series' band
    slices (as a NIfTI volume's), its acquisition fields, its band (nifti.Band, for the heatmap volume) and every
    series found, the analysed one first."""
    chosen, image, missing, found = choose(members)
    logger.info("A DICOM series upload: %d series, analysed %d slices (%d missing filled in), skipped: %s",
                len(found), len(chosen.headers), missing,
                ", ".join(s.reason for s in found if s is not chosen) or "none")
    slices, positions, volume_acquisition, band = nifti.read_nifti(image.to_bytes(), 1)
    acquisition = {**volume_acquisition, **chosen.first.acquisition}
    infos = [chosen.info(True, missing)] + [s.info(False) for s in found if s is not chosen]
    return slices, positions, acquisition, band, infos

"""What reading an upload gives (:class:`Scan`), whatever its format, and how a volume's band is checked."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mri.arrays import Gray
from mri.io import errors, nifti, quality
from mri.io.errors import ScanRejected
from mri.io.registry import VOLUME_FORMATS

logger = logging.getLogger("mri.io")


def is_volume_format(source_format: str) -> bool:
    return source_format in VOLUME_FORMATS


def log_refusal(problem: ScanRejected, what: str = "An upload") -> None:
    """One line for the server's log: the refusal's code, the check that made it and what it measured.

    Numbers and names of checks only: never the file's name, its header fields or its pixels.
    """
    logger.info("%s was refused (%s): check %s measured %s, limit %s", what, problem.code, problem.check,
                "-" if problem.measured is None else problem.measured, "-" if problem.limit is None else problem.limit)


@dataclass
class LeftOut:
    """A slice of a volume's band that a check refused: listed with the reason, not analysed."""

    position: int  # its axial index in the volume
    gray: Gray
    check: str  # the check that refused it, a key of quality.CHECKS


@dataclass
class Scan:
    gray: Gray  # 2-D uint8: the representative slice (the only one, or a volume's central one)
    source_format: str
    acquisition: dict[str, Any] = field(default_factory=dict)  # non-identifying fields only
    slices: list[Gray] = field(default_factory=list)  # every slice to analyse, ``gray`` among them
    positions: list[int] = field(default_factory=list)  # each slice's axial index in a volume
    left_out: list[LeftOut] = field(default_factory=list)  # a volume's band slices the checks refused (LeftOut)
    series: list[Any] = field(default_factory=list)  # a DICOM series upload's series (series.SeriesInfo), analysed first
    band: nifti.Band | None = None  # a NIfTI volume's every band level, for its heatmap volume

    def __post_init__(self) -> None:
        if not self.slices:
            self.slices = [self.gray]

    @property
    def is_volume(self) -> bool:
        return is_volume_format(self.source_format)


def slice_scan(gray: Gray, source_format: str, acquisition: dict[str, Any] | None = None) -> Scan:
    """One slice, after the same checks as every other."""
    quality.check_slice(gray)
    return Scan(gray=gray, source_format=source_format, acquisition=acquisition or {})


def volume_scan(slices: Sequence[Gray], positions: Sequence[int], acquisition: dict[str, Any],
                band: nifti.Band | None = None, source_format: str = "nifti") -> Scan:
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

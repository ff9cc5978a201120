"""What a DICOM series is, from the few header fields that say so without saying who the patient is.

The series description is free text typed at the scanner: it can hold anything, the patient's name included.
Only the words of :data:`DESCRIPTION_WORDS` (names of sequences, weightings and planes) are ever kept from it.
"""

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

# First match wins, so that a "T2 FLAIR" is FLAIR and a "T1 DWI" (there is none) would be DWI.
WEIGHTING_WORDS = [
    ("FLAIR", {"FLAIR", "DARKFLUID", "DARK-FLUID"}),
    ("DWI", {"DWI", "ADC", "DTI", "TRACE", "DIFFUSION", "EP2D_DIFF", "FA"}),
    ("T1", {"T1", "T1W", "T1WI", "MPRAGE", "MP-RAGE", "MP2RAGE", "SPGR", "FSPGR", "IRFSPGR", "BRAVO", "TFE",
            "VIBE", "FLASH", "3DT1", "T1-3D", "T13D"}),
    ("T2", {"T2", "T2W", "T2WI", "T2*", "SWI"}),
    ("PD", {"PD", "PDW"}),
]
LOCALISER_WORDS = {"LOC", "LOCALIZER", "LOCALISER", "SCOUT", "SURVEY", "3-PLANE", "3PLANE", "AAHEAD_SCOUT",
                   "TRIPILOT", "LOCATOR", "PILOT"}
OTHER_WORDS = {"3D", "2D", "AX", "AXIAL", "TRA", "TRANS", "SAG", "SAGITTAL", "COR", "CORONAL", "ISO", "MPR",
               "POST", "PRE", "GAD", "C+", "GD", "BRAIN", "HEAD", "SE", "GRE", "IR", "TSE", "FSE", "TOF", "SPACE",
               "CUBE", "VISTA", "HIRES", "FS", "FATSAT", "CONTRAST", "ORIG", "REFORMAT"}
DESCRIPTION_WORDS = set().union(*(words for _, words in WEIGHTING_WORDS), LOCALISER_WORDS, OTHER_WORDS)
MAX_DESCRIPTION_WORDS = 8

# Weighting from timing when the description names none (spin-echo conventions of MR physics textbooks:
# short TR under 1000 ms with short TE under 30 ms is T1; long TR over 2000 ms with long TE over 60 ms is T2).
# An inversion recovery nulls fluid with a long inversion time (FLAIR, about 2000-2500 ms) and gives T1
# contrast with a short one (MPRAGE and IR-SPGR, about 400-1200 ms).
T1_MAX_TR_MS, T1_MAX_TE_MS = 1000.0, 30.0
T2_MIN_TR_MS, T2_MIN_TE_MS = 2000.0, 60.0
FLAIR_MIN_TI_MS = 1500.0
T1_INVERSION_MS = (300.0, 1300.0)

PLANES = ("sagittal", "coronal", "axial")  # by the largest component of the slices' normal (x, y, z)


def text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


def description_words(description: str) -> str:
    """The sequence words of a free-text description, in their order; nothing else of it."""
    words = [w for w in re.split(r"[\s_/\\,;:()\[\]]+", description.upper()) if w in DESCRIPTION_WORDS]
    return " ".join(words[:MAX_DESCRIPTION_WORDS])


def number(ds: Any, keyword: str) -> float | None:
    try:
        value = float(ds.get(keyword))
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def weighting(ds: Any, words: str) -> str:
    """``"T1"``, ``"T2"``, ``"FLAIR"``, ``"PD"``, ``"DWI"``, or ``""`` when the header does not tell."""
    named = set(words.split())
    for name, vocabulary in WEIGHTING_WORDS:
        if named & vocabulary:
            return name
    tr, te, ti = number(ds, "RepetitionTime"), number(ds, "EchoTime"), number(ds, "InversionTime")
    if "IR" in text_of(ds.get("ScanningSequence")).upper() and ti:
        if ti >= FLAIR_MIN_TI_MS:
            return "FLAIR"
        if T1_INVERSION_MS[0] <= ti <= T1_INVERSION_MS[1]:
            return "T1"
    if tr and te is not None:
        if tr < T1_MAX_TR_MS and te < T1_MAX_TE_MS:
            return "T1"
        if tr > T2_MIN_TR_MS and te > T2_MIN_TE_MS:
            return "T2"
    return ""


def is_localiser(ds: Any, words: str) -> bool:
    image_type = text_of(ds.get("ImageType")).upper().split("\\")
    return "LOCALIZER" in image_type or bool(set(words.split()) & LOCALISER_WORDS)


def is_original(ds: Any) -> bool:
    """False for images the scanner derived from others (reformats, projections), which come second."""
    return text_of(ds.get("ImageType")).upper().split("\\")[0] != "DERIVED"


def plane(orientation: Sequence[float]) -> str:
    row, column = np.asarray(orientation[:3]), np.asarray(orientation[3:])
    return PLANES[int(np.argmax(np.abs(np.cross(row, column))))]


def world_spacing(orientation: Sequence[float], pixel_spacing: Sequence[float], slice_spacing: float) -> list[float]:
    """Voxel size (mm) along the patient's x, y and z once the volume is turned to the closest canonical one."""
    row, column = np.asarray(orientation[:3]), np.asarray(orientation[3:])
    axes = [(row, float(pixel_spacing[1])), (column, float(pixel_spacing[0])),
            (np.cross(row, column), float(slice_spacing))]
    sizes = [0.0, 0.0, 0.0]
    for direction, size in axes:
        sizes[int(np.argmax(np.abs(direction)))] = size
    return sizes

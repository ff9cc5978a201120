"""Atrophy measures read straight off a slice: how much of the inside of the skull is fluid (CSF), and where.

A brain that shrinks leaves more dark CSF inside the skull: in the ventricles at the centre, in the widened
furrows (sulci) at the edge, and around the medial temporal lobes, where Alzheimer's disease starts. Each
measure here is a share of an area, so it does not depend on pixel size; the dark threshold is read off the
slice's own histogram, so it does not depend on the intensity scale either. Everything is defined on the
app's own brain mask (``preprocess.brain_mask``), the one the network's input is cropped and normalised by:

* the intracranial area is that mask with its holes filled (the dark ventricles inside the brain count);
* CSF is the part of it darker than the lower of the two thresholds that split its histogram into three
  classes (CSF, grey matter, white matter) with the least spread within each (three-class Otsu), the
  histogram taken of the slice's *flattened log intensity* (``flattened_log``): in log space another
  scanner's contrast curve (a power law, gamma) is a change of scale and a coil's smooth shading (a bias
  field) an added slow surface, which a broad masked smoothing takes out, and Otsu's split moves with neither.
  The central (ventricular) measure alone keeps the split of the plain intensities: it already kept its
  ranking under every change tried, and on the log scale it separated people less well (MODEL_CARD.md);
* "central" is the part of the intracranial area farther than ``CENTRAL_DEPTH`` of the deepest point from its
  edge (where the ventricles lie), "peripheral" the rest (where the sulci are);
* the medial-temporal zone is a box on each side of the midline, in the middle of the head from front to back,
  read on the lowest third of a volume's band only (above that it holds no temporal lobe).

Plain Python and NumPy/OpenCV: nothing here knows about Django, the network or training.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .arrays import Array, Gray, Mask
from .inference.preprocess import brain_mask

Values = dict[str, float]
Reference = dict[str, dict[str, dict[str, float]]]


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    explanation: str


MEASURES = (
    Measure("csf_fraction", "Fluid inside the skull",
            "The share of the space inside the skull that is fluid rather than brain. It grows as the brain "
            "shrinks, with age and with dementia."),
    Measure("central_csf_fraction", "Fluid at the centre (ventricles)",
            "The share of the middle of the brain that is fluid: mostly the ventricles, the fluid-filled "
            "spaces that widen as the brain around them shrinks."),
    Measure("peripheral_csf_fraction", "Fluid at the surface (furrows)",
            "The share of the outer part of the brain that is fluid: mostly the furrows between the folds, "
            "which widen as the brain's surface shrinks."),
    Measure("medial_temporal_csf", "Fluid beside the memory areas",
            "The share of fluid around the inner temporal lobes, where memory areas such as the hippocampus "
            "lie and where Alzheimer's disease usually starts. Read on the lower slices of a volume only."),
)
KEYS = tuple(m.key for m in MEASURES)
BY_KEY = {m.key: m for m in MEASURES}

CENTRAL_DEPTH = 0.5  # share of the deepest point's distance from the edge where "central" begins
MIN_AREA = 400  # intracranial pixels below which a slice has no measurable brain
# The shading taken out is the log image smoothed over this share of the intracranial area's radius (the
# radius of a disc of its area), so that it follows the brain, not the pixel; chosen on the stability bench
# (training.measure_stability), not on any AUC.
SHADING_WIDTH = 0.25
DARK_FLOOR = 0.05  # share of the area's median intensity below which a pixel counts as that (log of black)
LOW_SHARE = 1 / 3  # the lowest third of a band's positions holds the medial temporal lobes
# The medial-temporal box, in shares of the intracranial bounding box: rows from the front, columns from the
# left; mirrored about the middle column.
MT_ROWS = (0.40, 0.75)
MT_COLUMNS = (0.18, 0.40)


def intracranial(gray: Array) -> Mask:
    """The app's brain mask with every hole filled: the area inside the skull, ventricles included."""
    mask = brain_mask(gray).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(mask)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    return np.asarray(filled.astype(bool))


def three_class_thresholds(values: Array) -> tuple[int, int]:
    """The two thresholds (t1 < t2) that split ``values`` (0..255) into three classes with the least
    within-class variance (three-class Otsu, exhaustive over the 256-bin histogram)."""
    hist = np.bincount(np.clip(np.asarray(values, dtype=np.int64), 0, 255), minlength=256).astype(np.float64)
    p = hist / max(hist.sum(), 1.0)
    levels = np.arange(256, dtype=np.float64)
    w, mu = np.cumsum(p), np.cumsum(p * levels)
    total = mu[-1]
    # Every (t1, t2) pair at once (a 253 x 254 grid, 5 ms a slice where a loop over t1 took 47 ms): the first
    # maximum in row order, as the loop found it.
    t1, t2 = np.arange(1, 254)[:, None], np.arange(2, 256)[None, :]
    w0, m0 = w[t1 - 1], mu[t1 - 1]
    w1, m1 = w[t2 - 1] - w0, mu[t2 - 1] - m0
    w2, m2 = 1.0 - w[t2 - 1], total - mu[t2 - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = np.where(w0 > 0, m0 ** 2 / w0, 0) + np.where(w1 > 0, m1 ** 2 / w1, 0) \
            + np.where(w2 > 0, m2 ** 2 / w2, 0)
    between = np.where(t2 > t1, between, -np.inf)
    i, j = np.unravel_index(int(np.argmax(between)), between.shape)
    return int(t1[i, 0]), int(t2[0, j])


def flattened_log(gray: Array, inside: Mask) -> Array:
    """Log intensity less its slow shading (the log image's masked, normalised Gaussian smoothing over
    ``SHADING_WIDTH`` of the area's radius): only differences between neighbourhoods are left."""
    values = np.asarray(gray, dtype=np.float32)
    floor = max(DARK_FLOOR * float(np.median(values[inside])), 1.0)
    log = np.log(np.maximum(values, floor))
    width = SHADING_WIDTH * math.sqrt(float(inside.sum()) / math.pi)
    smoothed = cv2.GaussianBlur(np.where(inside, log, 0).astype(np.float32), (0, 0), width)
    share = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), width)
    return np.asarray(np.where(inside, log - smoothed / np.maximum(share, 1e-6), 0.0))


def _share(part: Mask, whole: Mask) -> float:
    n = int(whole.sum())
    return float((part & whole).sum()) / n if n else math.nan


def _medial_temporal_zone(inside: Mask) -> Mask:
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    top, height = rows[0], rows[-1] + 1 - rows[0]
    left, width = cols[0], cols[-1] + 1 - cols[0]
    zone = np.zeros_like(inside)
    r0, r1 = (top + int(round(s * height)) for s in MT_ROWS)
    for c0, c1 in (MT_COLUMNS, (1 - MT_COLUMNS[1], 1 - MT_COLUMNS[0])):
        zone[r0:r1, left + int(round(c0 * width)):left + int(round(c1 * width))] = True
    return zone & inside


def slice_parts(gray: Array) -> tuple[Mask, Mask, Mask, Mask] | None:
    """``(inside, csf, central, plain_csf)`` boolean maps of one slice, or None where there is too little
    brain: ``csf`` split on the flattened log intensity, ``plain_csf`` on the intensity itself."""
    gray = np.asarray(gray)
    if gray.ndim != 2:
        raise ValueError("measures expect a 2-D grayscale slice")
    gray = gray if gray.dtype == np.uint8 else np.clip(np.round(gray), 0, 255).astype(np.uint8)
    inside = intracranial(gray)
    if inside.sum() < MIN_AREA:
        return None
    dark, _ = three_class_thresholds(gray[inside])
    flat = flattened_log(gray, inside)
    low, high = float(flat[inside].min()), float(flat[inside].max())
    span = max(high - low, 1e-9)
    flat_dark, _ = three_class_thresholds(np.round((flat[inside] - low) / span * 255))
    depth = cv2.distanceTransform(np.pad(inside.astype(np.uint8), 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    central = inside & (depth >= CENTRAL_DEPTH * float(depth.max()))
    return inside, inside & (flat < low + flat_dark / 255 * span), central, inside & (gray < dark)


def measure_slice(gray: Array, low: bool = False) -> Values:
    """``{key: value}`` of one 2-D uint8 slice; NaN where undefined (no brain; the medial-temporal measure
    unless ``low`` says the slice lies in the lowest third of its band)."""
    parts = slice_parts(gray)
    if parts is None:
        return {key: math.nan for key in KEYS}
    inside, csf, central, plain_csf = parts
    return {
        "csf_fraction": _share(csf, inside),
        "central_csf_fraction": _share(plain_csf, central),
        "peripheral_csf_fraction": _share(csf, inside & ~central),
        "medial_temporal_csf": _share(csf, _medial_temporal_zone(inside)) if low else math.nan,
    }


def low_slices(positions: Sequence[float] | Array) -> Mask:
    """Which of ``positions`` (axial, larger = higher) lie in the lowest third of their range; none of a
    single slice."""
    at = np.asarray(positions, dtype=np.float64)
    if len(at) < 2 or float(np.ptp(at)) <= 0:
        return np.zeros(len(at), dtype=bool)
    return np.asarray(at <= at.min() + LOW_SHARE * float(np.ptp(at)))


def measure_band(grays: Sequence[Gray], positions: Sequence[float] | Array | None = None) -> Values:
    """``{key: value}`` of a volume's band: each measure's mean over its slices (the medial-temporal one over
    the band's low slices). ``positions`` are the slices' axial positions; without them the order given is
    taken as bottom to top."""
    grays = list(grays)
    positions = np.arange(len(grays)) if positions is None else positions
    low = low_slices(positions)
    per_slice = [measure_slice(g, bool(is_low)) for g, is_low in zip(grays, low)]
    return {key: _nanmean([m[key] for m in per_slice]) for key in KEYS}


def _nanmean(values: Sequence[float]) -> float:
    array = np.asarray(values, dtype=np.float64)
    return float(np.nanmean(array)) if np.isfinite(array).any() else math.nan


# ---------------------------------------------------------------------------- reference ranges
# Stored in the checkpoint as ``measures_reference``: {key: {group: {"p5", "q1", "median", "q3", "p95", "n"}}},
# each group's spread of people's values (a person's value: the mean over their slices), groups the four class
# names and ANY_IMPAIRMENT.
ANY_IMPAIRMENT = "Any impairment"
UNIMPAIRED = "No Impairment"
QUANTILES = (("p5", 5), ("q1", 25), ("median", 50), ("q3", 75), ("p95", 95))


def reference_from_checkpoint(checkpoint: Mapping[str, Any] | None) -> Reference:
    """The checkpoint's reference ranges (plain floats), or ``{}`` when it has none (the untrained stand-in)."""
    stored = (checkpoint or {}).get("measures_reference") or {}
    return {key: {group: {name: (int(v) if name == "n" else float(v)) for name, v in figures.items()}
                  for group, figures in groups.items()}
            for key, groups in stored.items() if key in BY_KEY}


def percentile_in(value: float, figures: Mapping[str, float]) -> float | None:
    """Roughly which percentile of a group ``value`` sits at: linear between the stored quantiles, clamped to
    0-100 beyond the outer ones (a strip needs a position, not a third decimal)."""
    known = [(figures[name], q) for name, q in QUANTILES if name in figures]
    xs, qs = [x for x, _ in known], [q for _, q in known]
    if len(xs) < 2:
        return None
    if value <= xs[0]:
        return float(max(0.0, qs[0] * value / xs[0])) if xs[0] > 0 else float(qs[0])
    if value >= xs[-1]:
        return float(min(100.0, qs[-1] + (100 - qs[-1]) * (value - xs[-1]) / max(xs[-1] - xs[-2], 1e-9)))
    return float(np.interp(value, xs, qs))


def place(value: float | None, reference_for_key: Mapping[str, Mapping[str, float]] | None) -> dict[str, Any]:
    """Where ``value`` sits among people without and with impairment, for a server-drawn strip.

    Returns ``{"value", "axis": [low, high], "position": 0..1 on that axis, "groups": {group: {"q1", "median",
    "q3", "percentile"}}}`` for No Impairment and Any impairment; ``value``/``position`` None when the measure is
    undefined on this scan, and ``{}`` without a reference.
    """
    known = reference_for_key or {}
    groups = {g: known[g] for g in (UNIMPAIRED, ANY_IMPAIRMENT) if g in known}
    if not groups:
        return {}
    x = float(value) if value is not None and math.isfinite(float(value)) else None
    low = min(f.get("p5", f["q1"]) for f in groups.values())
    high = max(f.get("p95", f["q3"]) for f in groups.values())
    if x is not None:
        low, high = min(low, x), max(high, x)
    span = max(high - low, 1e-9)
    return {
        "value": x,
        "axis": [float(low), float(high)],
        "position": (x - low) / span if x is not None else None,
        "groups": {g: {"q1": f["q1"], "median": f["median"], "q3": f["q3"], "n": f.get("n"),
                       "percentile": percentile_in(x, f) if x is not None else None}
                   for g, f in groups.items()},
    }

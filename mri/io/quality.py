"""Turning pixel values into an 8-bit slice, and the checks every rendered slice must pass.

These checks are cheap and need no model: they catch what is plainly not a
scan (blank, noise, colour, a sliver, a thumbnail) and what cannot be an axial
brain slice shown the usual way (light background, cut off, several pictures,
lying on its side) before the network runs; the model-based check
(``mri.inference.ood``) then judges what is left.
"""

import numpy as np

from mri.arrays import Array, Gray
from mri.io import errors

MIN_SIDE = 64
MAX_ASPECT = 3.0
# A gray image saved as RGB (or JPEG-compressed) differs between channels by a
# few levels at most; real colour differs by tens.
COLOUR_CHANNEL_SPREAD = 24
COLOUR_PIXEL_FRACTION = 0.02
# p99 - p1 below this (of 255): nothing to see.
BLANK_RANGE = 8
# Neighbouring pixels of any photograph or scan are strongly correlated; in
# noise they are not.
NOISE_NEIGHBOUR_CORRELATION = 0.35
# Values sampled for an intensity window (a 2000 x 2000 image's worth).
WINDOW_SAMPLE = 4_000_000


def robust_window(values: Array) -> tuple[float, float]:
    """``(low, high)`` that ignores the outer 0.5% at each end; falls back to min/max."""
    flat = np.asarray(values).ravel()
    usable = np.isfinite(flat)
    finite = flat if usable.all() else flat[usable]
    if finite.size == 0:
        return 0.0, 0.0
    # Percentiles of an evenly strided sample of at most WINDOW_SAMPLE values: the same window within a level
    # or so, without sorting a copy of every pixel of a very large image.
    sample = finite[:: max(1, finite.size // WINDOW_SAMPLE)]
    low, high = np.percentile(sample, [0.5, 99.5])
    if high <= low:
        low, high = float(finite.min()), float(finite.max())
    return float(low), float(high)


def to_uint8(values: Array, low: float, high: float, overwrite: bool = False) -> Gray:
    """Map ``low..high`` linearly onto 0..255, clipping outside: in float32, on one copy of ``values`` (none
    with ``overwrite``, for a float32 array the caller no longer needs)."""
    if high <= low:
        return np.zeros(np.shape(values), dtype=np.uint8)
    values = np.asarray(values, dtype=np.float32) if overwrite else np.array(values, dtype=np.float32)
    np.nan_to_num(values, copy=False, nan=low, posinf=high, neginf=low)
    values -= low
    values *= 255.0 / (high - low)
    np.rint(values, out=values)
    np.clip(values, 0, 255, out=values)
    return values.astype(np.uint8)


def colour_share(rgb: Array) -> float:
    """The share of an (H, W, 3) array's pixels whose channels differ by more than a gray image's could."""
    rgb = np.asarray(rgb)
    # Per pixel, in the array's own type (max >= min, so 8 bits cannot wrap): no wider copy of a large photo.
    spread = rgb.max(axis=2) - rgb.min(axis=2)
    return float(np.mean(spread > COLOUR_CHANNEL_SPREAD))


def is_colour(rgb: Array) -> bool:
    """True if an (H, W, 3) array is a colour picture rather than gray stored as RGB."""
    return colour_share(rgb) > COLOUR_PIXEL_FRACTION


def rgb_to_gray(rgb: Array) -> Gray:
    """Gray from an RGB array that :func:`is_colour` accepted (the channel mean)."""
    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint8:
        # The rounded mean in integers (a sum of three is never halfway between two thirds): no float copy.
        gray: Gray = ((rgb.sum(axis=2, dtype=np.uint16) + 1) // 3).astype(np.uint8)
        return gray
    mean: Gray = np.clip(np.round(rgb.astype(np.float32).mean(axis=2)), 0, 255).astype(np.uint8)
    return mean


def check_geometry(width: int, height: int) -> None:
    """Refuse thumbnails and slivers from the size alone, before decoding pixels where possible."""
    if min(width, height) < MIN_SIDE:
        raise errors.too_small(width, height, MIN_SIDE).because("too_small", min(width, height), MIN_SIDE)
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise errors.bad_aspect(width, height, MAX_ASPECT).because(
            "bad_aspect", max(width, height) / min(width, height), MAX_ASPECT)


def neighbour_correlation(gray: Gray) -> float:
    """Mean correlation of each pixel with its right and lower neighbours."""
    x = np.asarray(gray)
    result: list[float] = []
    for a, b in ((x[:, :-1], x[:, 1:]), (x[:-1, :], x[1:, :])):
        # From sums accumulated in float64 straight from the 8-bit pixels: no full-size copy of the image.
        n = a.size
        sa, sb = np.sum(a, dtype=np.float64), np.sum(b, dtype=np.float64)
        saa, sbb, sab = (np.einsum("ij,ij->", p, q, dtype=np.float64) for p, q in ((a, a), (b, b), (a, b)))
        covariance, va, vb = sab - sa * sb / n, saa - sa * sa / n, sbb - sb * sb / n
        denominator = np.sqrt(max(va, 0.0) * max(vb, 0.0))
        result.append(float(covariance / denominator) if denominator > 0 else 1.0)
    return float(np.mean(result))


def check_slice(gray: Gray) -> None:
    """Raise :class:`ScanRejected` unless the 8-bit 2-D ``gray`` could be a scan slice."""
    height, width = gray.shape
    check_geometry(width, height)
    low, high = np.percentile(gray, [1, 99])
    if high - low < BLANK_RANGE:
        raise errors.blank().because("blank", high - low, BLANK_RANGE)
    correlation = neighbour_correlation(gray)
    if correlation < NOISE_NEIGHBOUR_CORRELATION:
        raise errors.noise().because("noise", correlation, NOISE_NEIGHBOUR_CORRELATION)
    check_layout(gray)


# What each check that can leave out a volume's slice says about it, in a few words (a volume's slice table,
# the API's and `manage.py analyze`'s ``reason``). The names are the ``check`` of a refusal.
CHECKS = {
    "too_small": "too small to be a scan slice",
    "bad_aspect": "far longer one way than the other",
    "blank": "blank: nothing to analyse",
    "noise": "random noise, not a scan",
    "dark_frame": "a light background, not dark as around a head",
    "frame_touch": "the head runs into the edges of the picture",
    "largest_part": "several separate pieces, not one head",
    "solidity": "an outline unlike an axial slice through the middle of the brain",
    "head_aspect": "a head lying on its side",
    "inside_detail": "no detail inside the head",
}


# ---------------------------------------------------------------------------- layout of an axial slice
#
# What every axial brain MRI slice shares, whatever the scanner: a dark
# background around the head, one head, seen whole, longer front-to-back than
# side-to-side when shown the usual way up. The model's detector
# (mri.inference.ood) reads pooled features that barely change when a slice
# is turned or inverted, so these few measurements catch what it cannot.
BORDER = 0.04  # the outer 4% of each side is "the frame"
JOIN = 0.03  # gaps up to 3% of the image's shorter side (6 px of a 200 px slice) do not part the head
DARK_FRAME = 0.25  # the frame's median must be below this share of the 99th percentile
# Every limit below lets through all of tests/fixtures/real_variety.py's bench (MNI152 axial slices of every level of a
# volume's band as other resolutions, skull-stripping tools, native-space framing, scanners and exports give
# them, measured at 1 mm and 2 mm) and all 4,097 slices of the training data, with a margin for people's
# real variety beyond the bench. Each comment gives the bench's extreme.
MIN_HEAD_ASPECT = 0.9  # head height / width; bench 0.98 and up (a head 12% wider); turned slices measure 0.81
MAX_FRAME_TOUCH = 0.35  # share of the frame's length the head may cover; bench up to 0.27 (3% cut off)
MIN_LARGEST_PART = 0.75  # share of the head's area in its largest part; bench 0.84 and up (a thin scalp ring)
# Area / convex hull area of the head's outline. An axial slice through the middle of the brain is an almost
# convex oval: the template 0.969 and up, the training slices 0.977 and up. A skull-stripped brain is less
# so: the outline follows the gyri, and a stripping tool's ragged edge or a bit of eye left in front of the
# brain cuts into it (bench 0.917 and up; real template-space volumes of another site measured 0.92 to 0.96).
# 0.88 leaves them a margin. Coronal slices through the middle of the brain measure 0.89 to 0.95 and are no
# longer refused here: those the head's aspect does not catch are left to the model's detector. Sagittal
# slices (0.86 to 0.93) are caught by their aspect (0.89 and below), a CT slice (0.69) by this.
MIN_SOLIDITY = 0.88
# Spread of the head's inner pixels, (90th - 10th percentile) / the image's 99th: a slice shows gray
# matter, white matter and fluid (training slices: 0.50 and up; bench 0.30 and up, a dim window; the tests'
# drawn slices: 0.10 and up); a filled shape with nothing inside measures 0.
MIN_INSIDE_DETAIL = 0.05


def layout(gray: Gray) -> dict[str, float]:
    """The measurements :func:`check_layout` judges, as a dict (also used to calibrate them)."""
    import cv2

    gray = np.asarray(gray)
    h, w = gray.shape
    bh, bw = max(1, int(h * BORDER)), max(1, int(w * BORDER))
    frame = np.concatenate([gray[:bh].ravel(), gray[-bh:].ravel(), gray[:, :bw].ravel(), gray[:, -bw:].ravel()])
    ceiling = max(float(np.percentile(gray, 99)), 1.0)
    mask: Array = (gray > 0.1 * ceiling).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    # Gaps narrower than JOIN of the image's shorter side are bridged: a skull-stripped brain's two
    # hemispheres above the corpus callosum, parted only by the (removed) falx, are one head, and so are a
    # ragged mask's or a gyrus's small notches; pictures side by side on a sheet, tens of pixels apart, are not.
    k = max(3, int(round(JOIN * min(h, w))) | 1)
    joined = cv2.morphologyEx(cv2.copyMakeBorder(mask, k, k, k, k, cv2.BORDER_CONSTANT, value=0), cv2.MORPH_CLOSE,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))[k:-k, k:-k]
    # Outer outlines only, filled: a scalp ring and the brain inside it are one head.
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    areas = [cv2.contourArea(c) for c in contours] or [0.0]
    head = np.zeros(gray.shape, np.uint8)
    solidity = 0.0
    if contours:
        outline = contours[int(np.argmax(areas))]
        cv2.drawContours(head, [outline], -1, 1, thickness=cv2.FILLED)
        solidity = cv2.contourArea(outline) / max(cv2.contourArea(cv2.convexHull(outline)), 1.0)
    head = head.astype(bool)
    rows, cols = np.flatnonzero(head.any(axis=1)), np.flatnonzero(head.any(axis=0))
    height = (rows[-1] - rows[0] + 1) if rows.size else 0
    width = (cols[-1] - cols[0] + 1) if cols.size else 0
    edge = np.concatenate([head[0], head[-1], head[:, 0], head[:, -1]])
    # Away from the outline, so that the dark background's edge does not count as detail.
    inside = cv2.erode((mask > 0).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    spread = np.percentile(gray[inside], [10, 90]) if inside.sum() >= 50 else (0.0, 0.0)
    return {
        "inside_detail": float(spread[1] - spread[0]) / ceiling,
        "solidity": float(solidity),
        "frame_darkness": float(np.median(frame)) / ceiling,
        "head_aspect": float(height) / max(float(width), 1.0),
        "frame_touch": float(edge.mean()),
        "largest_part": float(max(areas)) / max(float(sum(areas)), 1.0),
    }


def check_layout(gray: Gray) -> None:
    """Raise ``not_brain`` with the reason when ``gray`` cannot be an axial brain slice shown the usual way."""
    m = layout(gray)
    if m["frame_darkness"] > DARK_FRAME:
        raise errors.not_brain("Its background is light, not dark as around a head in an MRI scan (is it inverted, "
                               "a photo or a document?).").because("dark_frame", m["frame_darkness"], DARK_FRAME)
    if m["frame_touch"] > MAX_FRAME_TOUCH:
        raise errors.not_brain("The picture is cut off: the head runs into its edges. Please upload the whole "
                               "slice.").because("frame_touch", m["frame_touch"], MAX_FRAME_TOUCH)
    if m["largest_part"] < MIN_LARGEST_PART:
        raise errors.not_brain("It seems to hold several pictures or slices. Please upload one slice at a "
                               "time.").because("largest_part", m["largest_part"], MIN_LARGEST_PART)
    if m["solidity"] < MIN_SOLIDITY:
        raise errors.not_brain("Its outline is not that of an axial slice through the middle of the brain (is it "
                               "a coronal or sagittal slice, or one low in the head?).").because(
                                   "solidity", m["solidity"], MIN_SOLIDITY)
    if m["head_aspect"] < MIN_HEAD_ASPECT:
        raise errors.not_brain("The head lies on its side: an axial slice shows the front of the head at the top. "
                               "Please upload the slice the usual way up.").because(
                                   "head_aspect", m["head_aspect"], MIN_HEAD_ASPECT)
    if m["inside_detail"] < MIN_INSIDE_DETAIL:
        raise errors.not_brain("It shows a shape with no detail inside it, not the tissue of a brain as an MRI "
                               "slice shows it.").because("inside_detail", m["inside_detail"], MIN_INSIDE_DETAIL)

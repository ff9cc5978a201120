"""Turning pixel values into an 8-bit slice, and the checks every rendered slice must pass.

These checks are cheap and need no model: they catch what is plainly not a
scan (blank, noise, colour, a sliver, a thumbnail) before the network runs, so
the model-based check (``assessments.ml.ood``) only has to judge real pictures.
"""

import numpy as np

from . import errors

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


def robust_window(values):
    """``(low, high)`` that ignores the outer 0.5% at each end; falls back to min/max."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 0.0
    low, high = np.percentile(finite, [0.5, 99.5])
    if high <= low:
        low, high = float(finite.min()), float(finite.max())
    return float(low), float(high)


def to_uint8(values, low, high):
    """Map ``low..high`` linearly onto 0..255, clipping outside."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=low, posinf=high, neginf=low)
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    scaled = (values - low) / (high - low)
    return np.uint8(np.clip(np.round(scaled * 255.0), 0, 255))


def is_colour(rgb):
    """True if an (H, W, 3) array is a colour picture rather than gray stored as RGB."""
    rgb = np.asarray(rgb, dtype=np.int16)
    spread = rgb.max(axis=2) - rgb.min(axis=2)
    return float(np.mean(spread > COLOUR_CHANNEL_SPREAD)) > COLOUR_PIXEL_FRACTION


def rgb_to_gray(rgb):
    """Gray from an RGB array that :func:`is_colour` accepted (the channel mean)."""
    return np.uint8(np.clip(np.round(np.asarray(rgb, dtype=np.float32).mean(axis=2)), 0, 255))


def check_geometry(width, height):
    """Refuse thumbnails and slivers from the size alone, before decoding pixels where possible."""
    if min(width, height) < MIN_SIDE:
        raise errors.too_small(width, height, MIN_SIDE)
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise errors.bad_aspect(width, height, MAX_ASPECT)


def neighbour_correlation(gray):
    """Mean correlation of each pixel with its right and lower neighbours."""
    x = np.asarray(gray, dtype=np.float64)
    result = []
    for a, b in ((x[:, :-1], x[:, 1:]), (x[:-1, :], x[1:, :])):
        a, b = a - a.mean(), b - b.mean()
        denominator = np.sqrt((a * a).sum() * (b * b).sum())
        result.append(float((a * b).sum() / denominator) if denominator > 0 else 1.0)
    return float(np.mean(result))


def check_slice(gray):
    """Raise :class:`ScanRejected` unless the 8-bit 2-D ``gray`` could be a scan slice."""
    height, width = gray.shape
    check_geometry(width, height)
    low, high = np.percentile(gray, [1, 99])
    if high - low < BLANK_RANGE:
        raise errors.blank()
    if neighbour_correlation(gray) < NOISE_NEIGHBOUR_CORRELATION:
        raise errors.noise()

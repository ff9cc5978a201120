"""Turning a rendered grayscale slice into the network's input.

Every input (JPEG, PNG, DICOM, a NIfTI slice) is first rendered to an 8-bit
grayscale array; from there the steps below are the same for training and for
the app, and the checkpoint's ``preprocessing`` dict names which ones apply:

* ``crop_to_brain``: crop to the bounding box of pixels brighter than
  ``brain_threshold`` x the 99th percentile, pad it to a centred square with
  black, so that position and head size in the frame stop being cues.
* resize to ``input_size`` square (area interpolation).
* ``intensity``: ``"brain_zscore"`` subtracts the mean and divides by the
  standard deviation of the brain pixels only (scanner gain and windowing are
  a shortcut to a person's identity, not to their disease); ``"unit"`` divides
  by 255. The checkpoint's ``mean``/``std`` are then applied per channel.
* the gray image is repeated over three channels.

The last two steps are :func:`normalise_batch`, one implementation for the app (a batch
of one) and for training (whole batches, on any device).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch

from mri.arrays import Array, Mask

# What the checkpoint's ``preprocessing`` dict holds (the keys named in the module's docstring).
Spec = Mapping[str, Any]
Shape = tuple[int, ...]
DEFAULT_PREPROCESSING: dict[str, Any] = {"crop_to_brain": True, "intensity": "brain_zscore", "brain_threshold": 0.1}


@dataclass(frozen=True)
class Geometry:
    """Where the network's square input lies in the original image's pixels."""

    top: int
    left: int
    side: int


def brain_mask(gray: Array, threshold: float = DEFAULT_PREPROCESSING["brain_threshold"]) -> Mask:
    gray = np.asarray(gray, dtype=np.float32)
    ceiling = float(np.percentile(gray, 99)) if gray.size else 0.0
    if ceiling <= 0:
        return np.zeros(gray.shape, dtype=bool)
    return gray > threshold * ceiling


# The heatmap is drawn on the brain and its surface: the brain mask widened by this share of the brain's square
# side (2 px at the 80-px input, about 5 mm of brain). The network reads the brain's edge (the furrows and fluid
# at its surface): measured on held-out people, a map cut exactly at the mask lost most of its faithfulness
# (the app's deletion score, median 2.6x random before, 1.3x cut at the mask, 2.5x with this margin; MODEL_CARD.md).
SURFACE_MARGIN = 0.025


def map_region(gray: Array, side: int | None = None) -> Mask:
    """Where a heatmap may lie on ``gray``: the brain mask widened by :data:`SURFACE_MARGIN` of ``side`` (the
    brain's square, :func:`square_crop`; the image's larger side when not given)."""
    mask = brain_mask(gray)
    side = side or max(np.asarray(gray).shape)
    radius = int(round(SURFACE_MARGIN * side))
    if radius < 1 or not mask.any():
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return np.asarray(cv2.dilate(mask.astype(np.uint8), kernel).astype(bool))


def square_crop(gray: Array, threshold: float) -> Geometry:
    """Geometry of a square around the brain; the whole image if there is none."""
    h, w = gray.shape
    mask = brain_mask(gray, threshold)
    if mask.any():
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    else:
        y0, y1, x0, x1 = 0, h, 0, w
    side = int(max(y1 - y0, x1 - x0))
    top = int((y0 + y1) // 2 - side // 2)
    left = int((x0 + x1) // 2 - side // 2)
    return Geometry(top, left, side)


def cut(gray: Array, geometry: Geometry) -> Array:
    """The square region of ``gray`` described by ``geometry``, black where it leaves the image."""
    g = geometry
    out = np.zeros((g.side, g.side), dtype=gray.dtype)
    h, w = gray.shape
    y0, x0 = max(g.top, 0), max(g.left, 0)
    y1, x1 = min(g.top + g.side, h), min(g.left + g.side, w)
    if y1 > y0 and x1 > x0:
        out[y0 - g.top:y1 - g.top, x0 - g.left:x1 - g.left] = gray[y0:y1, x0:x1]
    return out


def paste(square_map: Array, geometry: Geometry, shape: Shape) -> Array:
    """Inverse of :func:`cut` for a map over the network's input: back onto the original image."""
    g = geometry
    resized = cv2.resize(np.asarray(square_map, dtype=np.float32), (g.side, g.side),
                         interpolation=cv2.INTER_LINEAR)
    h, w = shape
    out = np.zeros((h, w), dtype=np.float32)
    y0, x0 = max(g.top, 0), max(g.left, 0)
    y1, x1 = min(g.top + g.side, h), min(g.left + g.side, w)
    if y1 > y0 and x1 > x0:
        out[y0:y1, x0:x1] = resized[y0 - g.top:y1 - g.top, x0 - g.left:x1 - g.left]
    return out


def normalise_batch(x: torch.Tensor, spec: Spec) -> torch.Tensor:
    """The intensity and channel steps for a batch on any device: (B, S, S) 0..255 -> (B, 3, S, S).

    The one implementation: the app calls it on a batch of one, training on whole batches.
    """
    x = x.float()
    if spec.get("intensity") == "brain_zscore":
        flat = x.reshape(len(x), -1)
        ceiling = torch.quantile(flat, 0.99, dim=1, keepdim=True)
        mask = (flat > spec.get("brain_threshold", DEFAULT_PREPROCESSING["brain_threshold"]) * ceiling) \
            & (ceiling > 0)
        mask = torch.where(mask.sum(1, keepdim=True) > 16, mask, torch.ones_like(mask))
        m = mask.float()
        count = m.sum(1, keepdim=True)
        mean = (flat * m).sum(1, keepdim=True) / count
        std = (((flat - mean) ** 2 * m).sum(1, keepdim=True) / count).sqrt().clamp_min(1e-3)
        x = ((flat - mean) / std).reshape(x.shape)
    else:
        x = x / 255.0
    return x[:, None].expand(-1, 3, -1, -1)


def normalise(square: Array, spec: Spec, mean: Sequence[float], std: Sequence[float]) -> Array:
    """``square`` (uint8 or float 0..255, already input_size) -> float32 CHW array."""
    chw = normalise_batch(torch.as_tensor(np.asarray(square, dtype=np.float32))[None], spec)[0]
    mean_ = torch.as_tensor(mean, dtype=torch.float32)[:, None, None]
    std_ = torch.as_tensor(std, dtype=torch.float32)[:, None, None]
    return ((chw - mean_) / std_).numpy()


def to_square(gray: Array, input_size: int, spec: Spec) -> tuple[Array, Geometry | None]:
    """Crop (if asked) and resize: returns ``(square uint8-range float32, geometry)``."""
    gray = np.asarray(gray)
    if gray.ndim != 2:
        raise ValueError("preprocess expects a 2-D grayscale array")
    if spec.get("crop_to_brain"):
        geometry = square_crop(gray, spec.get("brain_threshold", DEFAULT_PREPROCESSING["brain_threshold"]))
        region = cut(gray, geometry)
    else:
        # Without cropping the whole frame is stretched to a square.
        geometry, region = None, gray
    square = cv2.resize(region.astype(np.float32), (input_size, input_size), interpolation=cv2.INTER_AREA)
    return square, geometry


def preprocess(gray: Array, input_size: int, spec: Spec, mean: Sequence[float] = (0, 0, 0),
               std: Sequence[float] = (1, 1, 1)) -> tuple[torch.Tensor, Geometry | None]:
    """A rendered slice -> ``(tensor 3xSxS, geometry)``; see the module docstring."""
    square, geometry = to_square(gray, input_size, spec)
    return torch.from_numpy(normalise(square, spec, mean, std)), geometry


def coverage(geometry: Geometry | None, shape: Shape) -> Mask:
    """Where the network's square input lies on the original image (all of it without a crop)."""
    seen = np.zeros(shape, dtype=bool)
    if geometry is None:
        seen[:] = True
        return seen
    g = geometry
    seen[max(g.top, 0):max(g.top + g.side, 0), max(g.left, 0):max(g.left + g.side, 0)] = True
    return seen


def map_to_image(square_map: Array, geometry: Geometry | None, shape: Shape) -> Array:
    """Place a map over the network input onto the original image of ``shape``."""
    if geometry is None:
        return cv2.resize(np.asarray(square_map, np.float32), (shape[1], shape[0]),
                          interpolation=cv2.INTER_LINEAR)
    return paste(square_map, geometry, shape)

"""Keeping the raw Grad-CAM maps of an analysis, and drawing any of them later without the model.

The maps are tiny (4 classes x 7x7 floats at 224 px), so they are stored as a
compressed ``.npz`` beside the overlay. With them and the stored scan, the
overlay of any class in any colour map is a resize and a blend: no forward pass.
"""

import io
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from mri.arrays import Array, Gray, Mask
from mri.explain.overlay import DEFAULT_COLOUR_MAP, blend, png_bytes, scale_map
from mri.inference.preprocess import Geometry, coverage, map_to_image

FORMAT_VERSION = 1


@dataclass
class StoredMaps:
    classes: tuple[str, ...]
    maps: Array  # (C, h, w) raw Grad-CAM, un-normalised
    geometry: Geometry | None
    image_shape: tuple[int, ...]
    predicted_index: int
    brain: Mask | None = None  # (H, W) bool: preprocess.map_region; None in files saved before it was kept

    @property
    def map_max(self) -> Array:
        """Each class's highest value as drawn (where :meth:`seen`): the ceiling of a scale shared across visits.

        Not the raw grid's maximum: that can lie off the brain, where nothing is drawn, and then even the
        hottest visit would never reach the top colour."""
        seen = self.seen()
        return np.array([float(np.where(seen, self.map_on_image(i), 0.0).max(initial=0.0))
                         for i in range(len(self.maps))])

    def map_on_image(self, class_index: int) -> Array:
        """A class's map on the image, zero off the brain and its surface (where it is known)."""
        on_image = map_to_image(self.maps[class_index], self.geometry, self.image_shape)
        return on_image if self.brain is None else np.where(self.brain, on_image, 0.0).astype(np.float32)

    def seen(self) -> Array:
        """Where a map may be drawn: the part of the image the network looked at, on the brain and its surface
        (the map says nothing of the black background around it)."""
        looked_at = coverage(self.geometry, self.image_shape)
        return looked_at if self.brain is None else looked_at & self.brain


def from_analysis(analysis: Any) -> StoredMaps:
    return StoredMaps(
        classes=tuple(analysis.classes),
        maps=np.asarray(analysis.maps, dtype=np.float32),
        geometry=analysis.geometry,
        image_shape=tuple(int(n) for n in analysis.image_shape),
        predicted_index=analysis.predicted_index,
        brain=None if getattr(analysis, "brain", None) is None else np.asarray(analysis.brain, dtype=bool),
    )


def to_npz(stored: StoredMaps) -> bytes:
    g = stored.geometry
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        version=np.int32(FORMAT_VERSION),
        classes=np.array(stored.classes, dtype=str),
        maps=stored.maps.astype(np.float32),
        # (top, left, side); side 0 means "no crop: the whole frame was stretched".
        geometry=np.array([g.top, g.left, g.side] if g else [0, 0, 0], dtype=np.int64),
        image_shape=np.array(stored.image_shape, dtype=np.int64),
        predicted_index=np.int32(stored.predicted_index),
        # One bit a pixel; absent (an empty array) when the analysis had none.
        brain=np.packbits(stored.brain.ravel()) if stored.brain is not None else np.zeros(0, np.uint8),
    )
    return buffer.getvalue()


def from_npz(data_or_file: bytes | bytearray | IO[bytes]) -> StoredMaps:
    """Read what :func:`to_npz` wrote; never unpickles (the file lives on disk we serve from)."""
    source = io.BytesIO(data_or_file) if isinstance(data_or_file, (bytes, bytearray)) else data_or_file
    with np.load(source, allow_pickle=False) as npz:
        top, left, side = (int(v) for v in npz["geometry"])
        image_shape = tuple(int(n) for n in npz["image_shape"])
        return StoredMaps(
            classes=tuple(str(c) for c in npz["classes"]),
            maps=npz["maps"].astype(np.float32),
            geometry=Geometry(top, left, side) if side > 0 else None,
            image_shape=image_shape,
            predicted_index=int(npz["predicted_index"]),
            brain=_brain(npz, image_shape),
        )


def _brain(npz: Any, image_shape: tuple[int, ...]) -> Mask | None:
    if "brain" not in npz.files or npz["brain"].size == 0:
        return None
    count = int(np.prod(image_shape))
    return np.unpackbits(npz["brain"], count=count).astype(bool).reshape(image_shape)


def overlay_png(gray: Gray, stored: StoredMaps, class_index: int | None = None, colour_map: str = DEFAULT_COLOUR_MAP,
                ceiling: float | None = None) -> bytes:
    """The overlay of one class's map over ``gray`` as PNG bytes (predicted class by default)."""
    index = stored.predicted_index if class_index is None else int(class_index)
    seen = stored.seen()
    return png_bytes(blend(gray, scale_map(stored.map_on_image(index), ceiling, where=seen), colour_map, where=seen))

"""Keeping the raw Grad-CAM maps of an analysis, and drawing any of them later without the model.

The maps are tiny (4 classes x 7x7 floats at 224 px), so they are stored as a
compressed ``.npz`` beside the overlay. With them and the stored scan, the
overlay of any class in any colour map is a resize and a blend: no forward pass.
"""

import io
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from mri.arrays import Array, Gray
from mri.explain.overlay import DEFAULT_COLORMAP, blend, png_bytes, scale_map
from mri.inference.preprocess import Geometry, coverage, map_to_image

FORMAT_VERSION = 1


@dataclass
class StoredMaps:
    classes: tuple[str, ...]
    maps: Array  # (C, h, w) raw Grad-CAM, un-normalised
    geometry: Geometry | None
    image_shape: tuple[int, ...]
    predicted_index: int

    @property
    def map_max(self) -> Array:
        """Each class's highest value: the ceiling of a scale shared across visits."""
        return np.asarray(self.maps.reshape(len(self.maps), -1).max(axis=1))

    def map_on_image(self, class_index: int) -> Array:
        return map_to_image(self.maps[class_index], self.geometry, self.image_shape)

    def seen(self) -> Array:
        """The part of the image the network looked at."""
        return coverage(self.geometry, self.image_shape)


def from_analysis(analysis: Any) -> StoredMaps:
    return StoredMaps(
        classes=tuple(analysis.classes),
        maps=np.asarray(analysis.maps, dtype=np.float32),
        geometry=analysis.geometry,
        image_shape=tuple(int(n) for n in analysis.image_shape),
        predicted_index=analysis.predicted_index,
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
    )
    return buffer.getvalue()


def from_npz(data_or_file: bytes | bytearray | IO[bytes]) -> StoredMaps:
    """Read what :func:`to_npz` wrote; never unpickles (the file lives on disk we serve from)."""
    source = io.BytesIO(data_or_file) if isinstance(data_or_file, (bytes, bytearray)) else data_or_file
    with np.load(source, allow_pickle=False) as npz:
        top, left, side = (int(v) for v in npz["geometry"])
        return StoredMaps(
            classes=tuple(str(c) for c in npz["classes"]),
            maps=npz["maps"].astype(np.float32),
            geometry=Geometry(top, left, side) if side > 0 else None,
            image_shape=tuple(int(n) for n in npz["image_shape"]),
            predicted_index=int(npz["predicted_index"]),
        )


def overlay_png(gray: Gray, stored: StoredMaps, class_index: int | None = None, colormap: str = DEFAULT_COLORMAP,
                ceiling: float | None = None) -> bytes:
    """The overlay of one class's map over ``gray`` as PNG bytes (predicted class by default)."""
    index = stored.predicted_index if class_index is None else int(class_index)
    seen = stored.seen()
    return png_bytes(blend(gray, scale_map(stored.map_on_image(index), ceiling, where=seen), colormap, where=seen))

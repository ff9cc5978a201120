"""Colouring Grad-CAM maps and blending them over the scan."""

import cv2
import numpy as np

from mri.arrays import Array, Gray

# OpenCV's colour maps, chosen for the patient's settings. viridis, inferno and
# cividis stay readable with colour-blindness; JET is what clinicians expect.
COLOUR_MAPS = {
    "jet": cv2.COLORMAP_JET,
    "viridis": cv2.COLORMAP_VIRIDIS,
    "inferno": cv2.COLORMAP_INFERNO,
    "cividis": cv2.COLORMAP_CIVIDIS,
}
DEFAULT_COLOUR_MAP = "jet"


def valid_colour_map(name: str | None) -> str:
    """``name`` if it is one of ours, else the default (a stored or chosen name can be stale)."""
    return name if name in COLOUR_MAPS else DEFAULT_COLOUR_MAP
ALPHA = 0.4


def scale_map(heat: Array, ceiling: float | None = None, where: Array | None = None) -> Array:
    """To 0..1: min-max over ``where`` (default everywhere), or divided by ``ceiling`` for a scale shared across visits."""
    heat = np.asarray(heat, dtype=np.float32)
    if ceiling is not None:
        return np.clip(heat / ceiling, 0, 1) if ceiling > 0 else np.zeros_like(heat)
    inside = heat if where is None else heat[where]
    if inside.size == 0:
        return np.zeros_like(heat)
    low, high = float(inside.min()), float(inside.max())
    if high - low <= 1e-12:
        return np.zeros_like(heat)
    return np.clip((heat - low) / (high - low), 0, 1)


def colourise(unit_heat: Array, colour_map: str = DEFAULT_COLOUR_MAP) -> Array:
    """0..1 map -> RGB uint8. OpenCV paints in BGR order, so the channels are flipped here."""
    bgr = cv2.applyColorMap(np.round(np.clip(unit_heat, 0, 1) * 255).astype(np.uint8), COLOUR_MAPS[colour_map])
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def blend(gray: Gray, unit_heat: Array, colour_map: str = DEFAULT_COLOUR_MAP, alpha: float = ALPHA,
          where: Array | None = None) -> Array:
    """The scan in gray with the coloured map laid over it at ``alpha``.

    Outside ``where`` (the part of the image the network never saw) the scan stays
    plain gray: colouring it would claim "low importance" for pixels never looked at.
    """
    gray = np.asarray(gray, dtype=np.uint8)
    base = np.repeat(gray[..., None], 3, axis=2).astype(np.float32)
    heat = colourise(unit_heat, colour_map).astype(np.float32)
    out = (1 - alpha) * base + alpha * heat
    if where is not None:
        out = np.where(np.asarray(where)[..., None], out, base)
    return np.clip(out, 0, 255).astype(np.uint8)


def colour_bar(colour_map: str = DEFAULT_COLOUR_MAP, height: int = 256, width: int = 24) -> Array:
    """A vertical bar, high importance at the top, matching :func:`colourise`."""
    ramp = np.linspace(1, 0, height, dtype=np.float32)[:, None].repeat(width, axis=1)
    return colourise(ramp, colour_map)


def lookup_table(colour_map: str = DEFAULT_COLOUR_MAP, stops: int = 33) -> dict[str, list[int]]:
    """``colour_map`` as NiiVue's ColorMap (``R, G, B, A, I`` lists, 0..255), sampled from :func:`colourise`, so
    the 3-D viewer paints with the same colours as the overlays. The lowest value is transparent."""
    levels = np.linspace(0, 255, stops).round().astype(int)
    rgb = colourise(levels[None, :] / 255.0, colour_map)[0]
    alpha = np.full(stops, 255)
    alpha[0] = 0
    return {"R": rgb[:, 0].tolist(), "G": rgb[:, 1].tolist(), "B": rgb[:, 2].tolist(), "A": alpha.tolist(),
            "I": levels.tolist()}


def png_bytes(rgb_or_gray: Array) -> bytes:
    """PNG through OpenCV at its fast compression level (several times quicker than Pillow's default).

    OpenCV writes BGR, so an RGB image is flipped back first; the saved file is RGB.
    """
    pixels: Array = np.ascontiguousarray(rgb_or_gray, dtype=np.uint8)
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError("OpenCV could not encode the image as PNG")
    return encoded.tobytes()

"""How much a Grad-CAM map can be trusted for one prediction: a deletion test against chance.

The hottest ``area`` (20%) of the predicted class's map is blurred out of the
network's input and the drop in that class's probability is compared with the
mean drop when regions of the same area are blurred at random places::

    score = drop(hottest region) / mean(drop(random regions))

A score near 1 or below means the highlighted region matters no more than any
other part of the scan; 2 or more means it matters clearly more. Blurring
(rather than painting black) keeps the perturbed image looking like a scan, so
the drop measures lost detail, not an unnatural edge.

Cost: one batch of ``1 + n_random`` (4) forward passes. The random places come
from a fixed seed, so the same image always gets the same score. Plain Python:
nothing here knows about Django.
"""

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from mri.arrays import Array, Mask

AREA = 0.2
N_RANDOM = 3
# The blur's standard deviation, as a share of the input's side.
BLUR = 1 / 16
SEED = 20180  # any fixed number: the score must not change between two runs on one image
# A random region's mean drop below this (one percentage point) is treated as
# this value, so a tiny denominator cannot turn noise into a "strong" score.
MIN_RANDOM_DROP = 0.01
STRONG, WEAK = 2.0, 1.2


@dataclass(frozen=True)
class Faithfulness:
    score: float
    base_probability: float
    hot_drop: float
    random_drops: tuple[float, ...]

    @property
    def verdict(self) -> str | None:
        return verdict(self.score)


def verdict(score: float | None) -> str | None:
    """``"strongly"``, ``"weakly"`` or ``"not"`` (more than a random region), or None if unknown."""
    if score is None:
        return None
    if score >= STRONG:
        return "strongly"
    if score >= WEAK:
        return "weakly"
    return "not"


def blurred(chw: torch.Tensor, sigma: float) -> torch.Tensor:
    """The whole input blurred; channels are blurred separately (they can differ by mean/std)."""
    hwc = np.ascontiguousarray(chw.numpy().transpose(1, 2, 0))
    out = cv2.GaussianBlur(hwc, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
    if out.ndim == 2:  # OpenCV drops a channel axis of length 1
        out = out[..., None]
    return torch.from_numpy(np.ascontiguousarray(out.transpose(2, 0, 1)))


def hottest_mask(cam: Array, size: int, area: float = AREA, inside: Mask | None = None) -> Mask | None:
    """Boolean ``size``x``size`` mask of the ``area`` fraction of pixels where ``cam`` is hottest, taken inside
    ``inside`` (the brain on the input; everywhere when None) as the map is drawn there only.

    ``None`` when the map is flat: a map that highlights nothing has no hottest region.
    """
    cam = np.asarray(cam, dtype=np.float32)
    if not np.isfinite(cam).all() or float(cam.max() - cam.min()) <= 1e-12 * max(1.0, abs(float(cam.max()))):
        return None
    # Upsampled exactly as the overlay is drawn, so the blurred pixels are the red ones.
    heat = cv2.resize(cam, (size, size), interpolation=cv2.INTER_LINEAR).ravel()
    if inside is not None and np.asarray(inside).any():
        heat = np.where(np.asarray(inside, dtype=bool).ravel(), heat, -np.inf)
    k = max(1, int(round(area * heat.size)))
    mask = np.zeros(heat.size, dtype=bool)
    mask[np.argpartition(-heat, k - 1)[:k]] = True
    return mask.reshape(size, size)


def random_masks(foreground: Mask, area: float = AREA, count: int = N_RANDOM, seed: int = SEED) -> list[Mask]:
    """``count`` square regions of ``area``, each centred on a foreground (brain) pixel when there is one.

    Centring on the brain keeps the baseline honest: a square over the black
    background would change nothing and make any map look good.
    """
    size = foreground.shape[0]
    side = max(1, min(size, int(round(np.sqrt(area) * size))))
    rng = np.random.default_rng(seed)
    candidates = np.argwhere(foreground)
    if len(candidates) == 0:
        candidates = np.argwhere(np.ones_like(foreground))
    masks: list[Mask] = []
    for _ in range(count):
        cy, cx = candidates[rng.integers(len(candidates))]
        # Shifted to fit inside the image, so every region has the same area.
        top = int(np.clip(cy - side // 2, 0, size - side))
        left = int(np.clip(cx - side // 2, 0, size - side))
        mask = np.zeros((size, size), dtype=bool)
        mask[top:top + side, left:left + side] = True
        masks.append(mask)
    return masks


def foreground_of(chw: torch.Tensor) -> Mask:
    """Pixels that are not background: anything brighter than the input's darkest value."""
    first = chw[0].numpy()
    return first > float(first.min()) + 1e-3 * max(1e-6, float(first.max() - first.min()))


def perturbed_batch(chw: torch.Tensor, masks: list[Mask], sigma: float) -> torch.Tensor:
    soft = blurred(chw, sigma)
    stack: list[torch.Tensor] = []
    for mask in masks:
        m = torch.from_numpy(mask)[None].to(chw.dtype)
        stack.append(chw * (1 - m) + soft * m)
    return torch.stack(stack)


def faithfulness(predict: Callable[[torch.Tensor], torch.Tensor], chw: torch.Tensor, cam: Array, class_index: int,
                 base_probability: float, *, area: float = AREA, n_random: int = N_RANDOM,
                 seed: int = SEED, inside: Mask | None = None) -> Faithfulness | None:
    """Score one explanation; ``None`` when the map is flat.

    ``predict(batch) -> probabilities (B, C)`` is the calibrated model;
    ``chw`` the network's input (3, S, S) the map was computed on; ``cam`` the
    predicted class's raw map (any grid); ``base_probability`` that class's
    probability on the unperturbed input; ``inside`` the brain on the input (the hottest region is taken there,
    where the map is drawn).
    """
    size = chw.shape[-1]
    hot = hottest_mask(cam, size, area, inside)
    if hot is None:
        return None
    masks = [hot] + random_masks(foreground_of(chw), area, n_random, seed)
    batch = perturbed_batch(chw, masks, sigma=size * BLUR)
    with torch.inference_mode():
        probabilities = predict(batch)[:, class_index].double().numpy()
    drops = float(base_probability) - probabilities
    hot_drop, random_drops = float(drops[0]), tuple(float(d) for d in drops[1:])
    score = hot_drop / max(float(np.mean(random_drops)), MIN_RANDOM_DROP)
    return Faithfulness(score=score, base_probability=float(base_probability), hot_drop=hot_drop,
                        random_drops=random_drops)

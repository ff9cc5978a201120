"""Where a Grad-CAM map's mass lies on its slice: in which tissue, on which side, in which half.

The regions come from the slice itself, no atlas: inside the brain mask of
:mod:`.preprocess`, the pixel intensities fall into three clusters (k-means on
the intensity alone). On a T1-weighted slice, like the training slices, fluid
(the ventricles and sulci) is darkest, white matter brightest and grey matter
between. The brain's midline is the vertical line through the mask's centre of
mass and its front and back halves are split by the horizontal line through it:
axial slices are shown with the front of the head at the top and the patient's
right on the image's left (as :mod:`mri.io.nifti` renders them and as
radiologists read them), so that is the side convention here too.

A share is the map's mass (its sum over the pixels) inside a region divided by
its mass inside the brain: the shares of each grouping sum to 1.
"""

import numpy as np

from mri.arrays import Array, Gray, Mask
from mri.explain.explanations import StoredMaps
from mri.inference.preprocess import brain_mask

# Groupings and their regions, in the order the page and the API list them (labels live in one place).
GROUPINGS = {
    "tissue": {"csf": "fluid spaces (CSF)", "grey_matter": "grey matter", "white_matter": "white matter"},
    "side": {"right": "patient's right", "left": "patient's left"},
    "half": {"front": "front half", "back": "back half"},
}
GROUPING_LABELS = {"tissue": "Tissue", "side": "Side", "half": "Front or back"}
# {grouping: {region: share 0..1}}
Shares = dict[str, dict[str, float]]
TISSUES = tuple(GROUPINGS["tissue"])  # darkest to brightest on a T1-weighted slice


def intensity_centres(values: Array, iterations: int = 100) -> Array:
    """The three centres of 1-D k-means on 8-bit intensities, darkest first: Lloyd's algorithm run on their
    256-bin histogram, which is exact and needs no pass over every pixel; started from the intensity terciles,
    so one deterministic run."""
    levels = np.arange(256, dtype=np.float64)
    counts = np.bincount(np.clip(np.rint(values), 0, 255).astype(np.int64), minlength=256).astype(np.float64)
    centres = np.percentile(values, [100 / 6, 50, 500 / 6]).astype(np.float64)
    for _ in range(iterations):
        nearest = np.argmin(np.abs(levels[:, None] - centres[None, :]), axis=1)
        mass = np.bincount(nearest, weights=counts, minlength=len(centres))
        sums = np.bincount(nearest, weights=counts * levels, minlength=len(centres))
        moved = np.where(mass > 0, sums / np.maximum(mass, 1), centres)
        if np.allclose(moved, centres):
            break
        centres = moved
    return np.sort(centres)


def segment_tissue(gray: Array, mask: Mask | None = None) -> Array:
    """``(H, W)`` labels: 0 outside the brain, then 1, 2, 3 for :data:`TISSUES` (CSF, grey, white matter)."""
    gray = np.asarray(gray, dtype=np.float32)
    mask = brain_mask(gray) if mask is None else np.asarray(mask, dtype=bool)
    labels = np.zeros(gray.shape, dtype=np.uint8)
    values = gray[mask]
    if np.unique(values).size < len(TISSUES):
        return labels
    centres = intensity_centres(values)
    labels[mask] = np.argmin(np.abs(values[:, None] - centres[None, :]), axis=1) + 1
    return labels


def region_masks(gray: Gray) -> dict[str, dict[str, Mask]]:
    """``{grouping: {region: boolean mask}}`` of the slice; empty when the slice shows no brain."""
    mask = brain_mask(gray)
    if not mask.any():
        return {}
    tissue = segment_tissue(gray, mask)
    rows, cols = np.nonzero(mask)
    row_centre, col_centre = rows.mean(), cols.mean()
    row_index, col_index = np.indices(mask.shape)
    on_image_left = col_index < col_centre  # the patient's right
    in_front = row_index < row_centre
    return {
        "tissue": {name: tissue == i + 1 for i, name in enumerate(TISSUES)},
        "side": {"right": mask & on_image_left, "left": mask & ~on_image_left},
        "half": {"front": mask & in_front, "back": mask & ~in_front},
    }


def shares(heat: Array, masks: dict[str, dict[str, Mask]]) -> Shares | None:
    """``{grouping: {region: share 0..1}}`` of ``heat``'s mass; None when the map has no mass in the brain."""
    heat = np.clip(np.asarray(heat, dtype=np.float64), 0, None)
    out: Shares = {}
    for grouping, regions in masks.items():
        mass = {name: float(heat[region].sum()) for name, region in regions.items()}
        total = sum(mass.values())
        if total <= 0:
            return None
        out[grouping] = {name: value / total for name, value in mass.items()}
    return out


def region_scores(gray: Gray, stored: StoredMaps) -> dict[str, Shares]:
    """``{class name: {grouping: {region: share}}}`` for every class of ``stored`` (explanations.StoredMaps).

    A class whose map has no mass inside the brain is left out; a slice without brain gives ``{}``.
    """
    masks = region_masks(gray)
    if not masks:
        return {}
    seen = stored.seen()
    scores: dict[str, Shares] = {}
    for index, name in enumerate(stored.classes):
        # Outside what the network saw the map means nothing (see overlay.blend): it carries no mass.
        found = shares(np.where(seen, stored.map_on_image(index), 0.0), masks)
        if found is not None:
            scores[name] = found
    return scores


def table(scores: Shares) -> list[tuple[str, list[tuple[str, float]]]]:
    """``[(grouping label, [(region label, share)])]`` of one class's ``{grouping: {region: share}}``."""
    return [(GROUPING_LABELS[grouping], [(label, float(scores[grouping][name])) for name, label in regions.items()])
            for grouping, regions in GROUPINGS.items() if grouping in scores]


NOTHING_INSIDE = "This map highlights nothing inside the brain, so it has no region shares."


def sentence(scores: Shares) -> str:
    """One plain sentence for the page and the report: the largest tissue, then the sides and halves."""
    tissue, side, half = (scores[g] for g in GROUPINGS)
    main = max(tissue, key=tissue.__getitem__)
    more_side = max(side, key=side.__getitem__)
    more_half = max(half, key=half.__getitem__)
    # Short sentences in everyday words (tests.web.test_pages measures the result page's reading age).
    return (f"The biggest part of the colour inside the brain is in {GROUPINGS['tissue'][main]} "
            f"({tissue[main]:.0%}). Of all the colour, {side[more_side]:.0%} is on the "
            f"{GROUPINGS['side'][more_side]} side and {half[more_half]:.0%} is in the {GROUPINGS['half'][more_half]}.")

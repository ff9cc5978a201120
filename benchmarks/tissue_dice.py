"""How well the region scores' tissue segmentation agrees with the MNI152 template's own tissue maps.

    .venv/bin/python -m benchmarks.tissue_dice            # 1 mm and 2 mm templates
    .venv/bin/python -m benchmarks.tissue_dice --resolution 2

The template is rendered through the app's own NIfTI path (``scans.nifti.render_band``: the axial band,
reoriented to RAS, one intensity window, radiological view) and every level of its band is segmented
by ``mri.explain.regions.segment_tissue`` from the slice alone. The ground truth is nilearn's grey-
and white-matter probability maps of the same template, rendered the same way: a pixel is the tissue
with the highest probability among grey matter, white matter and the rest (CSF = 1 - grey - white),
inside where grey + white exceed 0.1. Dice is pooled over all the band's pixels. Nothing is downloaded:
the template and its maps ship inside nilearn (a test requirement).
"""

import argparse
import time

import numpy as np

from mri.explain.regions import TISSUES, segment_tissue
from mri.io.nifti import axial_image, render_band

TRUTH_INSIDE = 0.1  # grey + white probability above which a pixel is brain in the ground truth


def template_band(resolution):
    """``(slices, truth)``: the app's rendering of the template's band and the true tissue labels (0..3)."""
    import nibabel as nib
    from nilearn.datasets import load_mni152_gm_template, load_mni152_template, load_mni152_wm_template

    def canonical(image):
        return np.asarray(nib.as_closest_canonical(image).dataobj, dtype=np.float32)

    template = load_mni152_template(resolution=resolution)
    spacing = nib.affines.voxel_sizes(template.affine)
    grey = canonical(load_mni152_gm_template(resolution=resolution))
    white = canonical(load_mni152_wm_template(resolution=resolution))
    slices, positions, _ = render_band(canonical(template), spacing, count=None)
    truth = []
    for z in positions:
        g, w = axial_image(grey[:, :, z], spacing), axial_image(white[:, :, z], spacing)
        labels = np.argmax(np.stack([np.clip(1 - g - w, 0, 1), g, w]), axis=0).astype(np.uint8) + 1
        labels[g + w <= TRUTH_INSIDE] = 0
        truth.append(labels)
    return slices, truth


def dice(a, b):
    total = int(a.sum()) + int(b.sum())
    return 2.0 * int((a & b).sum()) / total if total else 1.0


def measure(resolution=2):
    """``{"grey_matter": Dice, "white_matter": Dice, "csf": Dice, "slices": n, "seconds_per_slice": s}``."""
    slices, truth = template_band(resolution)
    started = time.perf_counter()
    found = np.stack([segment_tissue(gray) for gray in slices])
    elapsed = time.perf_counter() - started
    truth = np.stack(truth)
    scores = {name: dice(found == i + 1, truth == i + 1) for i, name in enumerate(TISSUES)}
    return {**scores, "slices": len(slices), "seconds_per_slice": elapsed / len(slices)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resolution", type=int, choices=(1, 2), action="append")
    args = parser.parse_args(argv)
    for resolution in args.resolution or (1, 2):
        m = measure(resolution)
        print(f"MNI152 {resolution} mm, {m['slices']} axial band slices: Dice grey matter {m['grey_matter']:.3f}, "
              f"white matter {m['white_matter']:.3f}, CSF {m['csf']:.3f}; "
              f"{m['seconds_per_slice'] * 1000:.1f} ms per slice")


if __name__ == "__main__":
    main()

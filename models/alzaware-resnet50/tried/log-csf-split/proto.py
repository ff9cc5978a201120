"""Prototype CSF splits, swapped into mri.measures.slice_parts, measured on the stability bench."""
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from mri import measures

ORIGINAL = measures.slice_parts
FLOOR = 0.05


def otsu_low(values):
    lo, hi = float(values.min()), float(values.max())
    scaled = np.round((values - lo) / max(hi - lo, 1e-9) * 255)
    t1, _ = measures.three_class_thresholds(scaled)
    return lo + t1 / 255 * (hi - lo)


def variant(sigma):
    def parts(gray):
        gray = np.asarray(gray)
        gray = gray if gray.dtype == np.uint8 else np.clip(np.round(gray), 0, 255).astype(np.uint8)
        inside = measures.intracranial(gray)
        if inside.sum() < measures.MIN_AREA:
            return None
        g = gray.astype(np.float32)
        med = float(np.median(g[inside]))
        log = np.log(np.maximum(g, max(FLOOR * med, 1.0)))
        if sigma == "plane":
            ys, xs = np.nonzero(inside)
            a = np.column_stack([np.ones(len(xs)), xs, ys]).astype(np.float64)
            coef, *_ = np.linalg.lstsq(a, log[inside].astype(np.float64), rcond=None)
            yy, xx = np.mgrid[0:g.shape[0], 0:g.shape[1]]
            log = log - (coef[0] + coef[1] * xx + coef[2] * yy)
        elif sigma:
            s = sigma if not isinstance(sigma, str) else float(sigma[1:]) * (inside.sum() / np.pi) ** 0.5
            m = inside.astype(np.float32)
            num = cv2.GaussianBlur(np.where(inside, log, 0).astype(np.float32), (0, 0), s)
            den = cv2.GaussianBlur(m, (0, 0), s)
            log = log - num / np.maximum(den, 1e-6)
        t = otsu_low(log[inside])
        csf = inside & (log < t)
        depth = cv2.distanceTransform(np.pad(inside.astype(np.uint8), 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
        central = inside & (depth >= measures.CENTRAL_DEPTH * float(depth.max()))
        return inside, csf, central
    return parts


def pick(name):
    return name if name == "plane" or name.startswith("r") else float(name)


def bump(gray, i, strength=0.3):
    """A smooth, non-linear multiplicative field: a Gaussian bump off-centre (a coil's hot spot)."""
    h, w = gray.shape
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = h * (0.3 + 0.4 * ((i * 37) % 10) / 10), w * (0.3 + 0.4 * ((i * 53) % 10) / 10)
    field = np.exp(strength * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (0.35 * w) ** 2)) - strength / 2)
    return np.uint8(np.clip(np.round(gray * field), 0, 255))


def hybrid(sigma="r0.25"):
    """The log-flattened split for every measure but the ventricular one, which keeps the shipped split."""
    new = variant(sigma)

    def parts(gray):
        a, b = ORIGINAL(gray), new(gray)
        if a is None:
            return None
        return b[0], b[1], b[2], a[1]
    return parts


ORIGINAL_MEASURE = measures.measure_slice
_FLAT = variant("r0.25")


def measure_hybrid(gray, low=False):
    old = ORIGINAL_MEASURE(gray, low)
    measures.slice_parts = _FLAT
    try:
        new = ORIGINAL_MEASURE(gray, low)
    finally:
        measures.slice_parts = ORIGINAL
    return {**new, "central_csf_fraction": old["central_csf_fraction"]}


if __name__ == "__main__":
    from training import measure_stability as ms
    from training.data import load_records, read_gray
    ms.CHANGES["bias field, off-centre bump +-15%"] = lambda g, i: bump(g, i)
    ms.CHANGES["gamma 1.5 and bias +-30%"] = lambda g, i: ms._biased(ms._gamma(g, 1.5), 0.3)
    records = load_records("../shared/data/alzheimer-mri")
    out = {}
    Path("runs/h21").mkdir(parents=True, exist_ok=True)
    for name in sys.argv[1:]:
        if name == "hybrid":
            measures.measure_slice = measure_hybrid
        else:
            measures.slice_parts = ORIGINAL if name == "old" else variant(pick(name))
        t = time.time()
        out[name] = ms.people_check(records, read_gray, 60, log=lambda *_: None)
        print(name, f"{time.time() - t:.0f}s", flush=True)
        print(ms.markdown({"people_check": out[name]}), flush=True)
        json.dump(out, open(f"runs/h21/stability-{'-'.join(sys.argv[1:])}.json", "w"), indent=1)

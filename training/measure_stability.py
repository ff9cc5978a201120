"""Do the atrophy measures keep their ranking of brains when the scan comes from elsewhere?

    python -m training.measure_stability --data ../shared/data/alzheimer-mri [--people 80] [--json]

Two checks, both through :mod:`mri.measures` exactly as the app calls it:

1. **Real people, other pipelines.** Each person's slices (9 evenly spaced over their band, as the app reads a
   volume) are changed the way another resolution, skull-stripping tool, scanner or native-space acquisition
   changes them; each person's band value is measured before and after, and the Spearman rank correlation over
   people says whether the ranking of brains survives (1 = the same order).
2. **One brain, every kind of the real-variety bench** (``tests.fixtures.real_variety``: the MNI152 template at
   1, 2 and 3 mm, FSL's grid, eroded/dilated/ragged masks, dura and eyes left, tilted, reframed, other contrasts,
   noise, 16-bit, JPEG): the template's mean value per kind, and their spread as a share of the spread between
   the training people (the interquartile range of their band values). A spread well under one IQR means a
   change of pipeline moves a brain less than the difference between two ordinary people.
"""

import argparse
import json
import warnings

import cv2
import numpy as np

from mri import measures

SLICES_PER_PERSON = 9


def _eroded(gray, px):
    inside = measures.intracranial(gray).astype(np.uint8)
    kept = cv2.erode(inside, np.ones((2 * px + 1, 2 * px + 1), np.uint8))
    return np.where(kept > 0, gray, 0).astype(np.uint8)


def _dilated(gray, px, share=0.25):
    """A ring of dark CSF/meninges left around the brain, as a loose skull-stripping mask keeps it."""
    inside = measures.intracranial(gray).astype(np.uint8)
    ring = cv2.dilate(inside, np.ones((2 * px + 1, 2 * px + 1), np.uint8)) > inside
    out = gray.copy()
    out[ring] = np.uint8(share * float(np.median(gray[inside > 0])))
    return out


def _gamma(gray, g):
    return np.uint8(np.clip(np.round(255.0 * (gray / 255.0) ** g), 0, 255))


def _resized(gray, factor):
    h, w = gray.shape
    return cv2.resize(gray, (max(8, int(round(w / factor))), max(8, int(round(h / factor)))),
                      interpolation=cv2.INTER_AREA)


def _rotated(gray, degrees):
    h, w = gray.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(gray, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)


def _framed(gray, size=256):
    out = np.zeros((size, size), np.uint8)
    h, w = gray.shape
    out[size - h - 2:size - 2, 2:2 + w] = gray
    return out


def _biased(gray, strength):
    h, w = gray.shape
    yy, xx = np.mgrid[0:h, 0:w]
    field = np.exp(strength * (xx / w - 0.5) * 2 - strength * 0.5 * (yy / h - 0.5) * 2)
    return np.uint8(np.clip(np.round(gray * field), 0, 255))


def _hot_spot(gray, seed, strength=0.3):
    """A smooth field that is no plane: an off-centre Gaussian bump (a coil's hot spot), +-15%."""
    h, w = gray.shape
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = h * (0.3 + 0.04 * ((seed * 37) % 10)), w * (0.3 + 0.04 * ((seed * 53) % 10))
    bump = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (0.35 * w) ** 2))
    return np.uint8(np.clip(np.round(gray * np.exp(strength * bump - strength / 2)), 0, 255))


def _noisy(gray, share, seed):
    rng = np.random.default_rng(seed)
    sigma = share * float(np.percentile(gray, 99))
    real = gray + rng.normal(0, sigma, gray.shape)
    return np.uint8(np.clip(np.round(np.hypot(real, rng.normal(0, sigma, gray.shape))), 0, 255))


def _jpeg(gray, quality):
    _, data = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


CHANGES = {
    "pixels 1.5x larger": lambda g, i: _resized(g, 1.5),
    "pixels 2x larger": lambda g, i: _resized(g, 2.0),
    "pixels 3x larger": lambda g, i: _resized(g, 3.0),
    "pixels 2x smaller": lambda g, i: _resized(g, 0.5),
    "blur (sigma 1.5 px)": lambda g, i: cv2.GaussianBlur(g, (0, 0), 1.5),
    "mask eroded 2 px": lambda g, i: _eroded(g, 2),
    "mask dilated 3 px (CSF ring kept)": lambda g, i: _dilated(g, 3),
    "gamma 0.7": lambda g, i: _gamma(g, 0.7),
    "gamma 1.5": lambda g, i: _gamma(g, 1.5),
    "intensity x0.5": lambda g, i: np.uint8(g // 2),
    "bias field +-30%": lambda g, i: _biased(g, 0.3),
    "bias field, off-centre hot spot +-15%": lambda g, i: _hot_spot(g, i),
    "gamma 1.5 and bias field +-30%": lambda g, i: _biased(_gamma(g, 1.5), 0.3),
    "Rician noise 5%": lambda g, i: _noisy(g, 0.05, i),
    "turned 15 deg": lambda g, i: _rotated(g, 15),
    "off-centre 256x256 frame": lambda g, i: _framed(g),
    "JPEG quality 60": lambda g, i: _jpeg(g, 60),
}


def band_of(rows, read_gray):
    """The person's slices the app would read of a volume: 9 evenly spaced levels, bottom to top."""
    rows = sorted(rows, key=lambda r: r["slice"])
    picks = np.unique(np.round(np.linspace(0, len(rows) - 1, SLICES_PER_PERSON)).astype(int))
    return [read_gray(rows[i]["path"]) for i in picks]


def people_check(records, read_gray, count, log=print):
    """Spearman rho over people of each measure, original against each change."""
    from scipy.stats import spearmanr

    by_person = {}
    for r in records:
        by_person.setdefault(r["subject"], []).append(r)
    names = sorted(by_person)[:: max(1, len(by_person) // count)][:count]
    before, after = [], {name: [] for name in CHANGES}
    for n, subject in enumerate(names):
        band = band_of(by_person[subject], read_gray)
        before.append(measures.measure_band(band))
        for name, change in CHANGES.items():
            after[name].append(measures.measure_band([change(g, i) for i, g in enumerate(band)]))
        if n % 20 == 0:
            log(f"  {n}/{len(names)} people")
    out = {}
    for name, values in after.items():
        out[name] = {key: float(spearmanr([b[key] for b in before], [a[key] for a in values]).statistic)
                     for key in measures.KEYS}
    return {"people": len(names), "rho": out}


def template_check(people_values, resolution=2):
    """The template's mean value per bench kind, and the spread across kinds over the people's IQR."""
    from tests.fixtures import real_variety

    per_kind = {}
    for kind in real_variety.kinds():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            slices = kind.make(resolution)
        values = [measures.measure_slice(g) for g in slices]
        per_kind[kind.name] = {k: float(np.nanmean([v[k] for v in values])) for k in measures.KEYS[:3]}
    spread = {}
    for key in measures.KEYS[:3]:
        column = [v[key] for v in per_kind.values()]
        q1, q3 = np.nanpercentile(people_values[key], [25, 75])
        spread[key] = {"min": float(np.nanmin(column)), "max": float(np.nanmax(column)),
                       "people_iqr": float(q3 - q1), "range_over_iqr": float((np.nanmax(column) - np.nanmin(column))
                                                                             / (q3 - q1))}
    return {"per_kind": per_kind, "spread": spread}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--people", type=int, default=80)
    parser.add_argument("--no-template", action="store_true")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    from training.data import load_records, read_gray

    records = load_records(args.data)
    result = {"people_check": people_check(records, read_gray, args.people)}
    if not args.no_template:
        from training.measures_reference import person_values

        values = person_values([measures.measure_slice(read_gray(r["path"]), low=True) for r in records[::3]],
                               [r["subject"] for r in records[::3]], [r["slice"] for r in records[::3]])
        columns = {k: np.array([v[k] for v in values.values()]) for k in measures.KEYS}
        result["template_check"] = template_check(columns)
    print(markdown(result))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
    return 0


def markdown(result):
    check = result["people_check"]
    lines = [f"Rank correlation (Spearman) of {check['people']} people's band values, original against changed:", "",
             "| change | " + " | ".join(measures.KEYS) + " |", "| --- |" + " --- |" * len(measures.KEYS)]
    for name, rho in check["rho"].items():
        lines.append(f"| {name} | " + " | ".join(f"{rho[k]:.3f}" for k in measures.KEYS) + " |")
    if "template_check" in result:
        lines += ["", "MNI152 template over every kind of the real-variety bench (mean of its slices):", "",
                  "| measure | min | max | training people's IQR | range / IQR |", "| --- | --- | --- | --- | --- |"]
        for key, s in result["template_check"]["spread"].items():
            lines.append(f"| {key} | {s['min']:.3f} | {s['max']:.3f} | {s['people_iqr']:.3f} | "
                         f"{s['range_over_iqr']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

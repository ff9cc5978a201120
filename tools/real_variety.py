"""Real variety for the layout checks: axial brain slices as other pipelines, scanners and people give them.

    .venv/bin/python tools/real_variety.py              # pass rates per kind, the way the README shows them
    .venv/bin/python tools/real_variety.py --measure    # and each kind's range of every layout measurement

Every variant is made from what we may ship: nilearn's MNI152 template and its
brain mask (``tools/scan_files.py``; nothing is downloaded). A kind is a
function ``make(resolution) -> [gray uint8 slice, ...]``: the slices the app
would see, through the same reading code (NIfTI volumes through
``assessments.scans.nifti``, every axial level of their band; 16-bit and DICOM
files through ``read_scan``'s decoders). ``resolution`` is the template's
voxel size the variant starts from (1 mm; the tests use 2 mm where that is
enough, to stay fast).

The layout checks (``assessments.scans.quality.check_slice``, no model) must let
every one of these through: each is a real brain, however unusual. The main()
also runs the image-like kinds of the bad-input corpus (``tools/make_bad_inputs.py``)
through the same checks, to show what the layout checks still refuse alone and
what is left to the model's out-of-distribution detector.
"""

import argparse
import functools
import io
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools import scan_files  # noqa: E402


@dataclass(frozen=True)
class Kind:
    name: str
    group: str
    what: str
    make: object  # make(resolution) -> [gray uint8, ...]


# ---------------------------------------------------------------------------- the template and its band


@functools.lru_cache(maxsize=2)
def brain_mask(resolution=1):
    """nilearn's MNI152 brain mask on the template's grid (it ships inside nilearn)."""
    import nibabel as nib
    from nilearn.datasets import load_mni152_brain_mask

    mask = np.asarray(nib.as_closest_canonical(load_mni152_brain_mask(resolution=resolution)).dataobj) > 0
    mask.flags.writeable = False
    return mask


def template(resolution=1):
    """``(voxels, affine)`` of the template with a single T1 scan's contrast (scan_files.T1_GAMMA)."""
    return np.array(scan_files.mni_array(resolution)), scan_files.mni_volume(resolution).affine.copy()


def band(volume, affine, every=True):
    """The slices the app renders of ``volume`` written as a NIfTI file: every level of its band, or its 9."""
    from assessments.scans import nifti

    raw, version = nifti.sniff(scan_files.nifti_bytes(np.asarray(volume, np.float32), affine))
    slices, _, _ = nifti.render_band(*nifti.read_volume(raw, version), count=None if every else nifti.BAND_SLICES)
    return slices


@functools.lru_cache(maxsize=2)
def template_band(resolution=1):
    """Every band level of the plain template, as the app renders them (the base of the 2-D kinds)."""
    return tuple(band(*template(resolution)))


def voxel(affine):
    return np.abs(np.diag(affine)[:3])


# ---------------------------------------------------------------------------- resampling


def resample(volume, affine, new_affine, shape, order=1):
    """``volume`` (on ``affine``) resampled onto the grid ``new_affine`` / ``shape``."""
    from scipy import ndimage

    # new voxel -> world -> old voxel
    mapping = np.linalg.inv(affine) @ new_affine
    return ndimage.affine_transform(np.asarray(volume, np.float32), mapping[:3, :3], mapping[:3, 3],
                                    output_shape=tuple(shape), order=order, mode="constant", cval=0.0)


def at_voxel_size(volume, affine, sizes):
    """The same field of view with voxels of ``sizes`` mm (thick slices averaged, as a scanner's are)."""
    from scipy import ndimage

    old = voxel(affine)
    sizes = np.asarray(sizes, float)
    # A slice of 5 mm holds the signal of all 5 mm, not of one plane: box-average before sampling.
    smooth = ndimage.uniform_filter(np.asarray(volume, np.float32), np.maximum(1, np.round(sizes / old)).astype(int))
    shape = np.maximum(1, np.floor(np.asarray(volume.shape) * old / sizes)).astype(int)
    new_affine = affine.copy()
    new_affine[:3, :3] = np.diag(np.sign(np.diag(affine)[:3]) * sizes)
    new_affine[:3, 3] = affine[:3, 3] + (sizes - old) / 2 * np.sign(np.diag(affine)[:3])
    return resample(smooth, affine, new_affine, shape), new_affine


# FSL's MNI152_T1_2mm grid: 91 x 109 x 91, stored left-to-right flipped (LAS).
FSL_2MM_AFFINE = np.array([[-2.0, 0, 0, 90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]])
FSL_2MM_SHAPE = (91, 109, 91)


def rotated(volume, affine, degrees, axis):
    """The head turned by ``degrees`` about the brain's centre around ``axis`` (0: left-right, nodding;
    1: front-back, rolling; 2: up-down, turning): a native-space scan of a head not lined up with the scanner."""
    from scipy import ndimage

    angle = np.deg2rad(degrees)
    c, s = np.cos(angle), np.sin(angle)
    plane = [a for a in range(3) if a != axis]
    rotation = np.eye(3)
    rotation[plane[0], plane[0]], rotation[plane[0], plane[1]] = c, -s
    rotation[plane[1], plane[0]], rotation[plane[1], plane[1]] = s, c
    weights = np.asarray(volume, np.float64)
    centre = np.array(ndimage.center_of_mass(weights)) if weights.sum() > 0 else (np.array(volume.shape) - 1) / 2
    offset = centre - rotation @ centre
    return ndimage.affine_transform(np.asarray(volume, np.float32), rotation, offset, order=1), affine


def scaled(volume, affine, factors):
    """The head ``factors`` (x, y, z) times as wide / long / tall about its centre: another person's head shape."""
    from scipy import ndimage

    factors = np.asarray(factors, float)
    centre = np.array(ndimage.center_of_mass(np.asarray(volume, np.float64)))
    matrix = np.diag(1.0 / factors)
    return ndimage.affine_transform(np.asarray(volume, np.float32), matrix, centre - matrix @ centre, order=1), affine


# ---------------------------------------------------------------------------- skull-stripping as tools leave it


def signed_distance(mask, sizes):
    """Millimetres inside (positive) or outside (negative) the mask's surface."""
    from scipy import ndimage

    inside = ndimage.distance_transform_edt(mask, sampling=sizes)
    outside = ndimage.distance_transform_edt(~mask, sampling=sizes)
    return inside - outside


def smooth_noise(shape, rng, sigma_voxels):
    from scipy import ndimage

    field = ndimage.gaussian_filter(rng.normal(size=shape).astype(np.float32), sigma_voxels)
    return field / (field.std() or 1.0)


def stripped(resolution, mm, ragged=0.0, seed=0):
    """The template cut by its brain mask moved ``mm`` outwards (dilated) or inwards (eroded), its surface
    displaced by up to about ``ragged`` mm of smooth random noise (a skull-stripping tool's noisy boundary).

    Outside the brain the template is empty; what a too-generous mask keeps there (CSF, meninges, bits of
    skull) is drawn as dim, textured tissue at 15-40% of white matter.
    """
    volume, affine = template(resolution)
    sizes = voxel(affine)
    distance = signed_distance(brain_mask(resolution), sizes)
    rng = np.random.default_rng(seed)
    if ragged:
        distance = distance + ragged * smooth_noise(distance.shape, rng, 1.5 / sizes[0])
    keep = distance > -mm
    top = float(volume.max())
    rim = (top * (0.15 + 0.25 * np.clip(0.5 + 0.3 * smooth_noise(volume.shape, rng, 1.0), 0, 1))).astype(np.float32)
    out = np.where(keep & (volume <= 0.02 * top) & (distance <= 0), rim, volume)
    return out * keep, affine


def dura_left(resolution, seed=0):
    """Patches of dura and sinus (bright, 1-2 mm thick, 1-3 mm outside the brain) left on ~30% of its surface."""
    volume, affine = template(resolution)
    sizes = voxel(affine)
    distance = signed_distance(brain_mask(resolution), sizes)
    rng = np.random.default_rng(seed)
    patches = smooth_noise(volume.shape, rng, 6.0 / sizes[0]) > 0.5  # ~30% of the surface
    shell = (distance < -1.0) & (distance > -1.0 - max(2.0, sizes[0])) & patches
    bridge = (distance <= 0) & (distance > -1.0 - sizes[0]) & patches  # attached to the brain in places
    top = float(volume.max())
    out = volume.copy()
    out[bridge & (volume < 0.3 * top)] = 0.45 * top
    out[shell] = 0.8 * top
    return out, affine


def eye_left(resolution, attached=True, seed=0):
    """An eyeball and its fat (24 mm) left in front of the frontal lobe over the band's lower slices, as a
    skull-stripping tool can leave it in a nodding head's scan; touching the brain or 4 mm in front of it."""
    volume, affine = template(resolution)
    sizes = voxel(affine)
    mask = brain_mask(resolution)
    from assessments.scans import nifti

    first, last = nifti.band_range(volume, sizes)
    out = volume.copy()
    top = float(volume.max())
    grid = np.indices(volume.shape, dtype=np.float32)
    for side in (-1, 1):
        cx = volume.shape[0] / 2 + side * 32 / sizes[0]
        # the brain's front edge on the band's lowest slice, at this eye's x
        column = mask[int(cx), :, first]
        front = np.flatnonzero(column).max() if column.any() else volume.shape[1] * 0.8
        cy = front + (12 + (0 if attached else 4)) / sizes[1]
        cz = first + 4 / sizes[2]
        r = np.sqrt(((grid[0] - cx) * sizes[0]) ** 2 + ((grid[1] - cy) * sizes[1]) ** 2
                    + ((grid[2] - cz) * sizes[2]) ** 2)
        out[r <= 12] = 0.15 * top  # vitreous: dark on T1
        out[(r > 9) & (r <= 12)] = 0.5 * top  # sclera and lens
        out[(r > 12) & (r <= 15) & (grid[1] < cy)] = 0.9 * top  # orbital fat behind it
    return out, affine


def with_scalp(resolution):
    """Not skull-stripped: CSF and skull (dark, 7 mm), then scalp and its fat (bright, 6 mm) around the brain."""
    volume, affine = template(resolution)
    distance = signed_distance(brain_mask(resolution), voxel(affine))
    top = float(volume.max())
    out = volume.copy()
    out[(distance < -7) & (distance >= -13)] = 0.75 * top
    out[(distance < 0) & (distance >= -7)] = 0.04 * top
    return out, affine


# ---------------------------------------------------------------------------- 2-D: framing of a single slice


def head_box(gray):
    rows = np.flatnonzero((gray > 0.1 * max(np.percentile(gray, 99), 1)).any(axis=1))
    cols = np.flatnonzero((gray > 0.1 * max(np.percentile(gray, 99), 1)).any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def framed(gray, shape, where="centre", gap=2):
    """The head of ``gray`` placed in a black frame of ``shape``: centred, or ``gap`` pixels from one edge."""
    top, bottom, left, right = head_box(gray)
    head = gray[top:bottom, left:right]
    h, w = head.shape
    rows, cols = shape
    if h + 2 * gap > rows or w + 2 * gap > cols:  # shrink to fit, as a viewer's export would
        import cv2

        factor = min((rows - 2 * gap) / h, (cols - 2 * gap) / w)
        head = cv2.resize(head, (max(1, int(w * factor)), max(1, int(h * factor))), interpolation=cv2.INTER_AREA)
        h, w = head.shape
    y, x = (rows - h) // 2, (cols - w) // 2
    y = {"top": gap, "bottom": rows - h - gap}.get(where, y)
    x = {"left": gap, "right": cols - w - gap}.get(where, x)
    canvas = np.zeros(shape, np.uint8)
    canvas[y:y + h, x:x + w] = head
    return canvas


def cut(gray, share):
    """Cropped to the head's bounding box, less ``share`` of its length at the front and the back."""
    top, bottom, left, right = head_box(gray)
    trim = int(round((bottom - top) * share))
    return np.ascontiguousarray(gray[top + trim:bottom - trim, left:right])


def turned(gray, degrees):
    """Rotated in the image plane about the head's centre, on a frame large enough to keep it whole."""
    import cv2

    h, w = gray.shape
    side = int(np.ceil(np.hypot(h, w)))
    canvas = framed(gray, (side, side))
    matrix = cv2.getRotationMatrix2D((side / 2, side / 2), degrees, 1.0)
    out = cv2.warpAffine(canvas, matrix, (side, side), flags=cv2.INTER_LINEAR)
    top, bottom, left, right = head_box(out)
    return framed(out[top:bottom, left:right], (h, w)) if bottom - top <= h and right - left <= w else out


# ---------------------------------------------------------------------------- 2-D: intensity


def as_8bit(values):
    return scan_files.as_uint8(np.clip(values, 0, None))


def rician(gray, rng, sigma):
    """Magnitude MRI noise: ``sigma`` as a share of the slice's 99th percentile."""
    x = gray.astype(np.float32)
    s = sigma * float(np.percentile(x, 99))
    return as_8bit(np.hypot(x + rng.normal(0, s, x.shape), rng.normal(0, s, x.shape)))


def contrast(resolution, gamma=None, kind="t1"):
    """The template's raw voxels with another gamma, or a T2-like contrast (fluid bright, white matter dark)."""
    volume = np.asarray(scan_files.mni_volume(resolution).dataobj, np.float32).clip(0, None)
    top = float(volume.max()) or 1.0
    if kind == "t2":
        inside = brain_mask(resolution) & (volume > 0)
        volume = np.where(inside, (1.05 - volume / top) * top, 0.0)
    elif gamma is not None:
        volume = (volume / top) ** gamma * top
    return volume, scan_files.mni_volume(resolution).affine.copy()


def sixteen_bit_png(gray, scale):
    from PIL import Image

    from assessments.scans import rasters

    buffer = io.BytesIO()
    Image.fromarray(np.uint16(np.clip(gray.astype(np.float64) * scale, 0, 65535))).save(buffer, format="PNG")
    return rasters.read_raster(buffer.getvalue())[0]


def sixteen_bit_dicom(gray, scale):
    from assessments.scans import dicom

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dicom.read_dicom(scan_files.dicom_bytes(np.uint16(gray.astype(np.float64) * scale)))[0]


def jpeg(gray, quality):
    from PIL import Image

    from assessments.scans import rasters

    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, format="JPEG", quality=quality)
    return rasters.read_raster(buffer.getvalue())[0]


# ---------------------------------------------------------------------------- the kinds


def each(resolution, transform):
    """``transform(gray, index)`` applied to every band level of the template (a 2-D kind)."""
    return [transform(gray, i) for i, gray in enumerate(template_band(resolution))]


def volumes(*made):
    return [gray for volume, affine in made for gray in band(volume, affine)]


def fsl_2mm(resolution):
    volume, affine = template(1)
    return resample(volume, affine, FSL_2MM_AFFINE, FSL_2MM_SHAPE), FSL_2MM_AFFINE


def three_mm(resolution):
    return at_voxel_size(*template(1), (3.0, 3.0, 3.0))


def reoriented(resolution, order, flips):
    """The template stored with its axes in another ``order`` and ``flips``, its affine saying so."""
    volume, affine = template(resolution)
    data = np.transpose(volume, order)
    new_affine = affine[:, list(order) + [3]].copy()
    for axis in flips:
        data = np.flip(data, axis)
        new_affine[:3, 3] += new_affine[:3, axis] * (data.shape[axis] - 1)
        new_affine[:3, axis] *= -1
    return np.ascontiguousarray(data), new_affine


def in_plane_anisotropic(resolution):
    """0.8 x 1.25 mm pixels (a rectangular field of view with a square matrix)."""
    volume, affine = template(resolution)
    return at_voxel_size(volume, affine, voxel(affine) * np.array([0.8, 1.25, 1.0]))


def biased(resolution, strength, seed):
    """A 3-D bias field: a ramp across the head and a bowl (coil sensitivity)."""
    volume, affine = template(resolution)
    rng = np.random.default_rng(seed)
    grid = [np.linspace(-0.5, 0.5, n) for n in volume.shape]
    x, y, z = np.meshgrid(*grid, indexing="ij")
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    ramp = direction[0] * x + direction[1] * y + direction[2] * z
    bowl = -(x ** 2 + y ** 2 + z ** 2)
    shape = ramp / np.abs(ramp).max() + rng.uniform(-1, 1) * bowl / np.abs(bowl).max()
    return volume * (1 + strength * shape / np.abs(shape).max()), affine


def kinds():
    """Every kind of real variety, in a stable order."""
    rng = np.random.default_rng
    return [
        # -- the template at other resolutions: every level of the band, through the NIfTI reader
        Kind("template_1mm", "template", "MNI152, 1 mm (nilearn's grid, 197x233x189)",
             lambda r: band(*template(1))),
        Kind("template_2mm", "template", "MNI152, 2 mm (nilearn's grid, 99x117x95)",
             lambda r: band(*template(2))),
        Kind("template_2mm_fsl", "template", "resampled onto FSL's 2 mm grid (91x109x91, stored LAS)",
             lambda r: band(*fsl_2mm(r))),
        Kind("template_3mm", "template", "resampled to 3 mm voxels",
             lambda r: band(*three_mm(r))),
        # -- brain masks as skull-stripping tools leave them
        Kind("mask_eroded", "skull-stripping", "brain mask eroded by 2 and 4 mm (cortex cut off)",
             lambda r: volumes(stripped(r, -2.0), stripped(r, -4.0))),
        Kind("mask_dilated", "skull-stripping", "brain mask dilated by 2 and 4 mm (CSF, meninges kept)",
             lambda r: volumes(stripped(r, 2.0), stripped(r, 4.0))),
        Kind("mask_ragged", "skull-stripping", "noisy mask boundary (+-2 mm), on the mask and 2 mm out",
             lambda r: volumes(stripped(r, 0.0, ragged=2.0, seed=1), stripped(r, 2.0, ragged=2.0, seed=2))),
        Kind("dura_left", "skull-stripping", "patches of dura and sinus left on ~30% of the surface",
             lambda r: volumes(dura_left(r, seed=1), dura_left(r, seed=2))),
        Kind("eye_left", "skull-stripping", "eyes and orbital fat left in front of the brain, touching it or not",
             lambda r: volumes(eye_left(r, True), eye_left(r, False))),
        Kind("with_scalp", "skull-stripping", "not skull-stripped: dark skull, bright scalp around the brain",
             lambda r: volumes(with_scalp(r))),
        # -- native space: the head as a scanner sees it
        Kind("tilted_nodding", "native space", "head nodded +-15 deg (about the left-right axis)",
             lambda r: volumes(*(rotated(*template(r), d, 0) for d in (-15, 15)))),
        Kind("tilted_rolling", "native space", "head rolled +-15 deg (about the front-back axis)",
             lambda r: volumes(*(rotated(*template(r), d, 1) for d in (-15, 15)))),
        Kind("tilted_turning", "native space", "head turned +-15 deg (in the slice's plane)",
             lambda r: [turned(g, d) for d in (-15, 15) for g in template_band(1)]),
        Kind("off_centre", "native space", "head 2 px from each edge of a 256x256 frame",
             lambda r: [framed(g, (256, 256), where, 2) for where in ("top", "bottom", "left", "right")
                        for g in template_band(1)]),
        Kind("field_of_view", "native space", "tight (2 px around the head) and wide (a 400 mm field)",
             lambda r: [framed(g, (head_box(g)[1] - head_box(g)[0] + 4, head_box(g)[3] - head_box(g)[2] + 4))
                        for g in template_band(1)]
             + [framed(g, (400, 400)) for g in template_band(1)]),
        Kind("cut_by_the_frame", "native space", "the frame on the head's outline, or cutting 3% off front and back",
             lambda r: [cut(g, 0.0) for g in template_band(1)] + [cut(g, 0.03) for g in template_band(1)]),
        Kind("frame_aspect", "native space", "frames of 256x207, 207x256, 240x320 and 320x240 pixels",
             lambda r: [framed(g, shape) for shape in ((256, 207), (207, 256), (240, 320), (320, 240))
                        for g in template_band(1)]),
        Kind("thick_slices", "native space", "anisotropic voxels: 1x1x5 mm and 1x1x3 mm",
             lambda r: volumes(at_voxel_size(*template(1), (1.0, 1.0, 5.0)),
                               at_voxel_size(*template(1), (1.0, 1.0, 3.0)))),
        Kind("in_plane_anisotropic", "native space", "0.8x1.25 mm pixels, made square by the reader",
             lambda r: volumes(in_plane_anisotropic(r))),
        Kind("header_orientation", "native space", "stored LAS, LPI, and as a sagittal (PIL) acquisition",
             lambda r: volumes(reoriented(r, (0, 1, 2), (0,)), reoriented(r, (0, 1, 2), (1, 2)),
                               reoriented(r, (1, 2, 0), (0, 1, 2)))),
        Kind("head_shape", "native space", "heads 12% wider and 10% narrower than the template",
             lambda r: volumes(scaled(*template(r), (1.12, 1.0, 1.0)), scaled(*template(r), (0.9, 1.0, 1.0)))),
        # -- intensity
        Kind("bias_field", "intensity", "a bias field of +-30% and +-45% across the head",
             lambda r: volumes(biased(r, 0.3, 1), biased(r, 0.45, 2))),
        Kind("other_contrast", "intensity", "the template's own flat contrast, gamma 4, and T2-like",
             lambda r: volumes(contrast(r, 1.0), contrast(r, 4.0), contrast(r, kind="t2"))),
        Kind("windowing", "intensity", "a narrow window (white matter clipped) and a dim one",
             lambda r: each(1, lambda g, i: as_8bit(np.minimum(g.astype(np.float32), 150.0)))
             + each(1, lambda g, i: np.uint8(g // 3))),
        Kind("noise", "intensity", "Rician noise, 2%, 5% and 8% of the 99th percentile",
             lambda r: [rician(g, rng(i), s) for s in (0.02, 0.05, 0.08) for i, g in enumerate(template_band(1))]),
        Kind("bit_depth_16", "intensity", "16-bit PNG and 12-bit DICOM, through the app's decoders",
             lambda r: each(1, lambda g, i: sixteen_bit_png(g, 257.0))
             + each(1, lambda g, i: sixteen_bit_dicom(g, 16.0))),
        Kind("jpeg", "intensity", "JPEG at quality 60",
             lambda r: each(1, lambda g, i: jpeg(g, 60))),
    ]


# ---------------------------------------------------------------------------- measuring


def judge(gray):
    """``None`` if the layout checks pass ``gray``, else the name of the check that refused it."""
    from assessments.scans import ScanRejected, quality

    try:
        quality.check_slice(gray)
    except ScanRejected as refused:
        return getattr(refused, "check", None) or refused.code
    return None


def detector_verdicts(grays):
    """The configured model's out-of-distribution verdict on each slice (``ood.IN``, ``UNSURE``, ``OUT``);
    None for each where the model has no detector."""
    from django.conf import settings

    from assessments.ml import ood
    from assessments.ml.engine import get_engine
    from assessments.ml.ood_fitting import features_of_grays

    engine = get_engine(settings.ALZAWARE_MODEL_PATH)
    detector = ood.detector_for(engine)
    if detector is None or not grays:
        return [None] * len(grays)
    return detector.verdicts(features_of_grays(engine, grays))


def bench_slices(resolution=2, names=None):
    """Every slice of every kind (or of ``names``), for fitting the detector's refusal threshold."""
    out = []
    for kind in kinds():
        if not names or kind.name in names:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out += kind.make(resolution)
    return out


def run(resolution=1, names=None, measure=False, detector=False):
    """``[(kind, slices, refused {check: count}, measurement ranges)]`` over every kind (or ``names``).

    With ``detector`` the slices the layout checks pass go on to the model's detector: ``refused`` then also
    counts ``detector`` (refused there) and ``marked`` (analysed, marked as outside the training data).
    """
    from assessments.scans import quality

    rows = []
    for kind in kinds():
        if names and kind.name not in names:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            slices = kind.make(resolution)
        refused, passed = {}, []
        for gray in slices:
            check = judge(gray)
            if check:
                refused[check] = refused.get(check, 0) + 1
            else:
                passed.append(gray)
        if detector:
            verdicts = detector_verdicts(passed)
            refused["detector"] = sum(v == "out" for v in verdicts)
            refused["marked"] = sum(v == "unsure" for v in verdicts)
        ranges = {}
        if measure:
            values = [quality.layout(gray) for gray in slices]
            ranges = {key: (min(v[key] for v in values), max(v[key] for v in values)) for key in values[0]}
        rows.append((kind, len(slices), refused, ranges))
    return rows


def corpus_rows(count=12, detector=False):
    """``[(kind name, pictures, passed by layout, passed by layout and detector)]`` for the bad-input corpus's
    image-like kinds (the last is None without ``detector``)."""
    from tools import make_bad_inputs

    rows = []
    for index, name in enumerate(make_bad_inputs.PIXEL_MAKERS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            grays = make_bad_inputs.variants(name, count, seed=1 + index)
        passed = [gray for gray in grays if judge(gray) is None]
        through = sum(v != "out" for v in detector_verdicts(passed)) if detector else None
        rows.append((name, len(grays), len(passed), through))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resolution", type=int, default=1, choices=(1, 2))
    parser.add_argument("--measure", action="store_true", help="also print each kind's range of each measurement")
    parser.add_argument("--detector", action="store_true",
                        help="then the configured model's detector (the whole gate a real upload meets)")
    parser.add_argument("--no-corpus", action="store_true")
    parser.add_argument("kinds", nargs="*")
    args = parser.parse_args(argv)
    import django

    django.setup()
    print_bench(run(args.resolution, args.kinds, args.measure, args.detector), args.measure, args.detector)
    if not args.no_corpus:
        print("\n| bad-input kind | pictures | refused by the layout checks alone |"
              + (" refused by layout or detector |" if args.detector else ""))
        print("| --- | --- | --- |" + (" --- |" if args.detector else ""))
        for name, n, ok, through in corpus_rows(detector=args.detector):
            print(f"| `{name}` | {n} | {(n - ok) / n:.0%} ({n - ok}) |"
                  + (f" {(n - through) / n:.0%} ({n - through}) |" if args.detector else ""))
    return 0


def print_bench(rows, measure, detector):
    total = passed = analysed = 0
    print("| group | kind | what | slices | pass the layout checks |" + (" analysed (marked) |" if detector else ""))
    print("| --- | --- | --- | --- | --- |" + (" --- |" if detector else ""))
    for kind, n, refused, ranges in rows:
        by_layout = {k: v for k, v in refused.items() if k not in ("detector", "marked")}
        ok = n - sum(by_layout.values())
        through = ok - refused.get("detector", 0)
        total, passed, analysed = total + n, passed + ok, analysed + through
        why = "" if not by_layout else " (refused: " + ", ".join(f"{k} {v}" for k, v in sorted(by_layout.items())) + ")"
        print(f"| {kind.group} | `{kind.name}` | {kind.what} | {n} | {ok / n:.0%} ({ok}){why} |"
              + (f" {through / n:.0%} ({refused.get('marked', 0)}) |" if detector else ""))
    print(f"| all | | | {total} | **{passed / max(total, 1):.1%}** ({passed}) |"
          + (f" **{analysed / max(total, 1):.1%}** |" if detector else ""))
    if measure:
        keys = list(rows[0][3])
        print("\n| kind | " + " | ".join(keys) + " |")
        print("| --- |" + " --- |" * len(keys))
        for kind, _, _, ranges in rows:
            print(f"| {kind.name} | " + " | ".join(f"{ranges[k][0]:.3f}-{ranges[k][1]:.3f}" for k in keys) + " |")


if __name__ == "__main__":
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alzaware.settings")
    sys.exit(main())

"""A NIfTI upload's heatmap as a volume: every level of its band analysed, each level's map of the volume's
predicted class put back on its plane, all of it written on the uploaded file's own voxel grid and affine.

The result still rests on the chosen slices (:mod:`.reading`); this only draws
the map through the whole band, so that it can be explored in 3D. A level the
layout checks refuse (:func:`.scans.quality.check_slice`) is left at zero, as
is everything outside the band and outside what the network saw of a level.
The scan is kept beside it as a NIfTI in the same grid, in the band's 8-bit
intensity window and with a fresh header: nothing of the uploaded header (its
free-text fields can name a person) is copied.
"""

import gzip
import io

import nibabel as nib
import numpy as np

from mri.explain import explanations
from mri.io import ScanRejected, nifti, quality

CHUNK = 16  # levels per forward pass: bounds the batch's memory on a full band


def analysable(gray):
    try:
        quality.check_slice(gray)
    except ScanRejected:
        return False
    return True


def heat_volume(engine, band, class_index, known=None):
    """RAS float32 array of the volume's shape: each analysable band level's raw Grad-CAM map, 0 elsewhere.

    ``known``: ``{position: StoredMaps}`` of levels already analysed (the chosen slices), not run again.
    """
    known = dict(known or {})
    heat = np.zeros(band.ras_volume.shape, dtype=np.float32)
    levels = [(z, gray) for z, gray in zip(band.positions, band.slices) if z not in known and analysable(gray)]
    for start in range(0, len(levels), CHUNK):
        chunk = levels[start:start + CHUNK]
        analyses = engine.analyse_many([gray for _, gray in chunk])
        known.update((z, explanations.from_analysis(analysis)) for (z, _), analysis in zip(chunk, analyses))
    for z, stored in known.items():
        # Outside what the network saw the map means nothing (see overlay.blend): zero there.
        on_image = np.where(stored.seen(), stored.map_on_image(class_index), 0.0)
        heat[:, :, z] = nifti.from_axial_image(on_image, band.plane_shape())
    return heat


def nifti_gz(band, ras_array):
    """``ras_array`` on the uploaded file's grid as .nii.gz bytes, with a fresh header (scanner coordinates)."""
    placed = band.to_file_grid(ras_array)
    image = nib.Nifti1Image(np.asanyarray(placed.dataobj), placed.affine)
    image.set_qform(placed.affine, code=1)
    image.set_sform(placed.affine, code=1)
    return gzip.compress(image.to_bytes(), compresslevel=6)


def volume_files(engine, band, class_index, known=None):
    """``(scan .nii.gz bytes, heatmap .nii.gz bytes)`` for a volume's 3-D viewer and download."""
    return nifti_gz(band, band.ras_volume), nifti_gz(band, heat_volume(engine, band, class_index, known))


MAPS = "maps_"  # the key prefix of a chosen slice's maps in the band's .npz


def band_npz(band, maps):
    """A band and its chosen slices' maps (``{position: StoredMaps}``, as the upload analysed them) as .npz bytes
    for the task worker (numbers only: nothing of the uploaded header)."""
    buffer = io.BytesIO()
    kept_maps = {f"{MAPS}{z}": np.frombuffer(explanations.to_npz(stored), np.uint8) for z, stored in maps.items()}
    np.savez(buffer, slices=np.stack(band.slices), positions=np.asarray(band.positions), ras_volume=band.ras_volume,
             ras_affine=band.ras_affine, file_affine=band.file_affine, spacing=np.asarray(band.spacing), **kept_maps)
    return buffer.getvalue()


def band_from_npz(data):
    """``(band, {position: StoredMaps})`` from what :func:`band_npz` wrote; never unpickles."""
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        band = nifti.Band(slices=list(stored["slices"]), positions=[int(p) for p in stored["positions"]],
                          ras_volume=stored["ras_volume"], ras_affine=stored["ras_affine"],
                          file_affine=stored["file_affine"], spacing=tuple(float(v) for v in stored["spacing"]))
        maps = {int(key[len(MAPS):]): explanations.from_npz(stored[key].tobytes())
                for key in stored.files if key.startswith(MAPS)}
    return band, maps

"""The training data on disk: a folder of slices with ``manifest.csv``, read as the app reads uploads."""

import csv
import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from mri import CLASSES

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}


def read_gray(path):
    """A slice on disk -> 2-D uint8 array, decoded by Pillow as the app decodes an upload.

    (OpenCV's JPEG decoder differs from Pillow's by a grey level here and there.)
    """
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read image {path}") from exc


def load_records(data_dir):
    """Rows ``{path, label, subject, slice}`` for a folder.

    With ``manifest.csv`` its rows are used (paths relative to the folder);
    otherwise every image under ``<class name>/`` (or ``images/<class name>/``)
    with ``subject`` set to ``None``.
    """
    data_dir = Path(data_dir)
    manifest = data_dir / "manifest.csv"
    records = []
    if manifest.exists():
        with open(manifest, newline="") as fh:
            for row in csv.DictReader(fh):
                if row["label"] not in CLASSES:
                    raise ValueError(f"unknown class {row['label']!r} in {manifest}")
                records.append({
                    "path": str(data_dir / row["path"]),
                    "label": CLASSES.index(row["label"]),
                    "subject": row.get("subject") or None,
                    "slice": int(row["slice"]) if row.get("slice") not in (None, "") else None,
                })
        return records
    root = data_dir / "images" if (data_dir / "images").is_dir() else data_dir
    for index, name in enumerate(CLASSES):
        folder = root / name
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                records.append({"path": str(path), "label": index, "subject": None, "slice": None})
    if not records:
        raise ValueError(f"no images found under {data_dir} (expected <class name>/<images>)")
    return records


def fingerprint(data_dir, records):
    """SHA-256 over the manifest (or over the sorted file list when there is none)."""
    manifest = Path(data_dir) / "manifest.csv"
    digest = hashlib.sha256()
    if manifest.exists():
        digest.update(manifest.read_bytes())
    else:
        for r in sorted(records, key=lambda r: r["path"]):
            digest.update(f"{r['path']}|{r['label']}\n".encode())
    return digest.hexdigest()

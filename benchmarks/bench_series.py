"""Time and memory of reading DICOM series uploads, for the figures in docs/dicom-series.md.

    .venv/bin/python -m benchmarks.bench_series

1. The MNI152 template at 1 mm exported as a sagittal series (one file per slice), zipped: the whole read
   (headers, choice, volume, NIfTI band) timed, with the peak of Python's allocations (tracemalloc) during it.
2. The header pass alone over archive.MAX_FILES small files (the file-count limit), so that the limit's cost
   is known.
"""

import time
import tracemalloc

import nibabel as nib
import numpy as np

from mri.io import archive, read_scan, series
from tests.fixtures import dicom_series, scan_files


def timed(function, *args):
    """``(result, seconds, peak bytes allocated)``: the time of a second, untraced run (tracing slows Python)."""
    tracemalloc.start()
    function(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start, peak


def main():
    image = nib.Nifti1Image(np.asarray(scan_files.mni_array(1)), scan_files.mni_volume(1).affine)
    data = dicom_series.series_zip(dicom_series.series_datasets(image, "sagittal"), shuffle=0)
    scan, seconds, peak = timed(read_scan, data, len(data))
    print(f"1 mm template, sagittal, {scan.series[0].slice_count} files, ZIP {len(data) / 1e6:.1f} MB: "
          f"read in {seconds:.2f} s, peak allocations {peak / 1e6:.0f} MB, {len(scan.slices)} band slices kept")

    small = nib.Nifti1Image(np.ones((16, 16, archive.MAX_FILES), np.float32), np.eye(4))
    files = [dicom_series.file_bytes(ds) for ds in dicom_series.series_datasets(small, "axial")]
    members = archive.file_members(files)
    headers, seconds, _ = timed(lambda: [series.read_header(m) for m in members])
    print(f"header pass over {len(headers)} files (archive.MAX_FILES): {seconds:.2f} s, "
          f"{1000 * seconds / len(headers):.2f} ms a file")


if __name__ == "__main__":
    main()

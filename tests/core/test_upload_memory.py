"""Memory per upload is bounded: each nasty input, in a fresh process, raises its peak memory by less than
MEMORY_BOUND_MB, measured two ways by tests/peak_memory.py (peak resident size less the size before, and
tracemalloc's peak)."""

import gzip
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
from django.conf import settings
from django.test import SimpleTestCase, tag
from PIL import Image

from mri.io import MAX_PIXELS
from tests.fixtures import scan_files

MEMORY_BOUND_MB = 300


def measure(*args):
    done = subprocess.run([sys.executable, "-m", "tests.peak_memory", *args], capture_output=True, text=True,
                          timeout=300, cwd=settings.BASE_DIR, env={**os.environ, "DEBUG": "1"})
    if done.returncode:
        raise AssertionError(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def stretched_nifti():
    """4 x 8000 x 3 voxels of 2000 x 1 x 1 mm: a few hundred bytes that would draw an 8000 x 8000 slice."""
    volume = np.zeros((4, 8000, 3), np.uint8)
    volume[:, ::2, :] = 200
    return gzip.compress(nib.Nifti1Image(volume, np.diag([2000.0, 1.0, 1.0, 1.0])).to_bytes(), 9)


def sixteen_bit_png_under_the_cap():
    width = int(MAX_PIXELS ** 0.5)
    height = MAX_PIXELS // width - 1
    pixels = np.tile(np.linspace(1000, 3000, width).astype(np.uint16), (height, 1))
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", optimize=True)
    return buffer.getvalue(), width * height


@tag("slow")  # a subprocess per test, with uploads near the size caps
class UploadMemoryTests(SimpleTestCase):
    def assert_bounded(self, result):
        self.assertLess(result["increase_mb"], MEMORY_BOUND_MB, result)
        self.assertLess(result["traced_mb"], MEMORY_BOUND_MB, result)

    def measure_scan(self, data):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "upload"
            path.write_bytes(data)
            return measure("scan", str(path))

    def test_a_200_mb_body_is_answered_without_being_read(self):
        result = measure("body", str(200 * 1024 * 1024))
        self.assertEqual(result["status"], "413 Request Entity Too Large")
        self.assertEqual(result["answer"]["error"], "too_large")
        self.assertEqual(result["bytes_read"], 0)
        self.assert_bounded(result)

    def test_a_tiny_stretched_nifti_is_refused_before_it_is_drawn(self):
        data = stretched_nifti()
        self.assertLess(len(data), 1000)
        result = self.measure_scan(data)
        self.assertEqual(result.get("refused"), "too_many_pixels")
        self.assert_bounded(result)

    def test_a_half_megabyte_nifti_declaring_510_mb_of_float64_zeros_is_refused_from_its_header(self):
        data = scan_files.declared_zeros_nifti()
        self.assertLess(len(data), 600_000)
        result = self.measure_scan(data)
        self.assertEqual(result.get("refused"), "too_many_pixels")
        self.assert_bounded(result)

    def test_a_float64_volume_just_under_the_limits_is_read_within_the_bound(self):
        # 300 x 300 x 350 float64 = 252 MB inflated (under MAX_VOLUME_BYTES), 31.5 M voxels (under MAX_VOXELS):
        # converted to float32 a chunk at a time, never held as float64.
        data = scan_files.declared_zeros_nifti((300, 300, 350))
        result = self.measure_scan(data)
        self.assertEqual(result.get("refused"), "blank")  # read to the end, then refused for holding nothing
        self.assert_bounded(result)

    def test_a_16_bit_png_just_under_the_pixel_cap_stays_within_the_bound(self):
        data, pixels = sixteen_bit_png_under_the_cap()
        self.assertLess(pixels, MAX_PIXELS)
        result = self.measure_scan(data)
        self.assertNotEqual(result.get("refused"), "too_many_pixels")  # read, not refused by its size
        self.assert_bounded(result)

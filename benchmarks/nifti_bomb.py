"""What a small .nii.gz that declares a huge volume costs the server: seconds and peak memory, in a fresh process
each (tests.peak_memory), for the file of issue 25 and a real volume just under the limits.

``python -m benchmarks.nifti_bomb`` prints one JSON line per file. Figures, not a test: the memory bound is
asserted by tests.core.test_upload_memory; the time depends on the machine.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from tests.fixtures import scan_files

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "400x400x399 float64 zeros (510 MB declared)": ((400, 400, 399), np.float64),
    "300x300x350 float64 zeros (252 MB declared, under the limits)": ((300, 300, 350), np.float64),
    "256x256x256 int16 zeros (34 MB declared)": ((256, 256, 256), np.int16),
}


def measure(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.nii.gz"
        path.write_bytes(data)
        done = subprocess.run([sys.executable, "-m", "tests.peak_memory", "scan", str(path)], capture_output=True,
                              text=True, timeout=600, cwd=ROOT, env={**os.environ, "DEBUG": "1"})
    if done.returncode:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    for name, (shape, dtype) in CASES.items():
        data = scan_files.declared_zeros_nifti(shape, dtype)
        print(json.dumps({"file": name, "compressed_kb": round(len(data) / 1024), **measure(data)}), flush=True)


if __name__ == "__main__":
    main()

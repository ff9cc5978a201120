"""Run one nasty input in a fresh process and print how far it raised the process's memory, as JSON.

``python -m tests.peak_memory scan FILE``: the file through ``mri.io.read_scan``.
``python -m tests.peak_memory body BYTES``: a POST of that many bytes to /api/predict through the whole
WSGI stack (middleware included), its body generated lazily so that only the server side can hold it.

Two figures, both from just after a warm-up that loaded every library the path uses:
``increase_mb``, the process's peak resident size during the input (Linux's VmHWM, reset to the current size
first through /proc/self/clear_refs, so that a peak while importing does not count; everything, C libraries'
buffers included) less its resident size before; and ``traced_mb``, the peak of Python's and numpy's own
allocations (tracemalloc), which pages the kernel drops or keeps cannot move. Run by tests.core.test_upload_memory.
"""

import io
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def status_mb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


class Peak:
    """Around one input: the resident size before, the peak during, and tracemalloc's peak."""

    def __enter__(self):
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        self.idle = status_mb("VmRSS")
        tracemalloc.start()
        return self

    def __exit__(self, *exc):
        self.traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        self.peak = status_mb("VmHWM")
        return False

    def figures(self):
        return {"idle_mb": round(self.idle, 1), "peak_mb": round(self.peak, 1),
                "increase_mb": round(self.peak - self.idle, 1), "traced_mb": round(self.traced, 1)}


class LazyBody(io.RawIOBase):
    """``size`` bytes of a multipart body, made as they are read; counts what was read."""

    def __init__(self, size, boundary):
        self.head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\n"
                     "Content-Type: image/png\r\n\r\n").encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.size, self.position = size, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        count = min(len(buffer), self.size - self.position)
        chunk = bytearray(count)
        start = self.position
        if start < len(self.head):
            piece = self.head[start:start + count]
            chunk[:len(piece)] = piece
        end_start = self.size - len(self.tail)
        if start + count > end_start:
            offset = max(end_start, start)
            chunk[offset - start:] = self.tail[offset - end_start:offset - end_start + (start + count - offset)]
        buffer[:count] = chunk
        self.position += count
        return count


def run_body(size):
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    boundary = "alzawareboundary"

    def post(body_size):
        body = LazyBody(body_size, boundary)
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/api/predict", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
            "wsgi.url_scheme": "http", "wsgi.input": body, "wsgi.errors": sys.stderr,
            "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}", "CONTENT_LENGTH": str(body_size),
            "HTTP_HOST": "127.0.0.1",
        }
        answer = {}
        chunks = handler(environ, lambda status, headers, exc_info=None: answer.update(status=status))
        payload = b"".join(chunks)
        return answer["status"], payload, body.position

    post(1000)  # warm-up: every module of the request path imported
    with Peak() as peak:
        status, payload, read = post(size)
    return {"status": status, "answer": json.loads(payload), "bytes_read": read, **peak.figures()}


def run_scan(path):
    import numpy as np
    from django.conf import settings
    from PIL import Image

    from mri.io import ScanRejected, read_scan

    warm_up = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200), dtype=np.uint8)).save(warm_up, "PNG")
    try:
        read_scan(warm_up.getvalue(), settings.MAX_UPLOAD_BYTES)
    except ScanRejected:
        pass
    data = Path(path).read_bytes()
    started = time.perf_counter()
    with Peak() as peak:
        try:
            scan = read_scan(data, settings.MAX_UPLOAD_BYTES)
            outcome = {"accepted": [list(s.shape) for s in scan.slices]}
        except ScanRejected as refused:
            outcome = {"refused": refused.code}
    return {**outcome, "seconds": round(time.perf_counter() - started, 2), **peak.figures()}


def main(kind, argument):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alzaware.settings")
    import django

    django.setup()
    result = run_body(int(argument)) if kind == "body" else run_scan(argument)
    print(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:3])

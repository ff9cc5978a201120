"""gunicorn settings for `make serve`; each can be overridden by the environment (GUNICORN_WORKERS, ...).

Sizing, from the measured cost of one analysis (docs/serving-and-scaling.md): a forward of the
ResNet50 is CPU-bound, so one worker process per core, each with a single torch thread,
uses every core without two forwards fighting over one. A few threads per worker keep
uploads, page views and image downloads moving while a forward runs; torch releases the
GIL during its kernels, so they overlap.
"""

import os

CORES = len(os.sched_getaffinity(0))

bind = os.environ.get("HOST", "127.0.0.1:8000")
wsgi_app = "alzaware.wsgi:application"
workers = int(os.environ.get("GUNICORN_WORKERS", CORES))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# An upload runs the network synchronously: allow for a large volume on a busy machine.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 120))
# Each worker loads the model itself (wsgi.py), after the fork: torch's thread pools are not fork-safe.
preload_app = False
accesslog = "-"
# The path without its query string, and no Referer: a doctor's admin search (?q=alice) put patients' names
# into the access log through both (issue 25). Address, time, method, path, protocol, status, size, user agent.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
TORCH_THREADS = int(os.environ.get("TORCH_THREADS", max(1, CORES // workers)))


def post_fork(server, worker):
    import torch

    torch.set_num_threads(TORCH_THREADS)

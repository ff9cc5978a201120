"""A bounded load test of a running server (loopback only): N patients upload real slices through the API at once.

    python -m benchmarks.load_test --clients 16 --requests 12 --mail-dir /tmp/alzaware-mail \
        --data ../shared/data/alzheimer-mri [--server-pid PID]

First the request cost: each file uploaded alone, paired with the same analysis
in this process (what ``manage.py analyze`` does per file). Then each client signs
up its own patient (confirming the address from the server's e-mail folder, as benchmarks.smoke_session does:
the server needs the file-based e-mail backend, and SIGNUP_ADDRESS_RATE above the number of clients), takes an
API token and uploads slices to POST /api/predict as
fast as answers come: p50 / p95 latency, throughput, errors, mixed answers (an
answer that is not the one the same file got when it was uploaded alone) and the
resident memory of each gunicorn worker (children of ``--server-pid``). The slices are read from the training folder
(never copied) or, without ``--data``, drawn from the MNI152 template.
It refuses any server but this machine's: it is a measurement, not an attack.
"""

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

from benchmarks.smoke_session import PASSWORD, Browser, multipart, new_patient

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def slices_from(data_dir, count):
    """``count`` slices of different subjects from the training folder's manifest, as uploaded files."""
    import csv

    rows, seen = [], set()
    with open(Path(data_dir) / "manifest.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["subject"] not in seen and 12 <= int(row["slice"]) <= 20:
                seen.add(row["subject"])
                rows.append(row)
    step = max(1, len(rows) // count)
    return [(Path(r["path"]).name, (Path(data_dir) / r["path"]).read_bytes(), "image/jpeg")
            for r in rows[::step][:count]]


def template_slices(count):
    from PIL import Image

    from tests.fixtures import scan_files

    files = []
    for offset in range(count):
        buffer = io.BytesIO()
        Image.fromarray(scan_files.mni_axial(offset * 2 - count)).save(buffer, format="PNG")
        files.append((f"mni-{offset}.png", buffer.getvalue(), "image/png"))
    return files


def token_for(base, email, mail_dir):
    """A new patient's API token, once they have confirmed their address (benchmarks.smoke_session)."""
    browser = Browser(base)
    new_patient(browser, email, mail_dir)
    status, _, body, _ = browser.request("/api/token/", json.dumps({"email": email, "password": PASSWORD}).encode(),
                                         "application/json")
    if status != 200:
        raise SystemExit(f"could not get a token for {email}: {status} {body[:200]!r}")
    return json.loads(body)["token"]


def predict(base, token, upload, server_time=False):
    """``(seconds, status, class_probabilities or None)`` of one upload; with ``server_time`` the seconds are the
    server's own (its Server-Timing header), else as the client waited."""
    body, content_type = multipart({}, {"file": upload})
    started = time.perf_counter()
    status, _, answer, headers = Browser(base).request("/api/predict", body, content_type,
                                                       {"Authorization": f"Token {token}"})
    seconds = time.perf_counter() - started
    if server_time:
        seconds = float(headers["Server-Timing"].split("dur=")[1]) / 1000
    try:
        probabilities = json.loads(answer).get("class_probabilities") if status == 200 else None
    except ValueError:
        probabilities = None
    return seconds, status, probabilities


def worker_rss_mib(server_pid):
    """Resident memory (MiB) of each child process of ``server_pid`` (gunicorn's workers)."""
    if not server_pid:
        return []
    children = []
    for task in Path(f"/proc/{server_pid}/task").iterdir():
        children += (task / "children").read_text().split()
    sizes = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(round(int(line.split()[1]) / 1024))
    return sizes


def run_clients(base, tokens, uploads, per_client):
    """Every client uploads ``per_client`` files, cycling through ``uploads`` from its own starting point."""
    results, lock, start = [], threading.Lock(), threading.Barrier(len(tokens))

    def client(index, token):
        start.wait()
        for k in range(per_client):
            upload = uploads[(index + k) % len(uploads)]
            outcome = predict(base, token, upload)
            with lock:
                results.append((upload[0], *outcome))

    threads = [threading.Thread(target=client, args=(i, t)) for i, t in enumerate(tokens)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - began


def report(results, elapsed, alone, rss):
    latencies = sorted(seconds for _, seconds, status, _ in results if status == 200)
    errors = sum(status != 200 for _, _, status, _ in results)
    mixed = sum(status == 200 and probabilities != alone[name] for name, _, status, probabilities in results)
    quantile = statistics.quantiles(latencies, n=20) if len(latencies) >= 2 else latencies * 19
    return {"requests": len(results), "errors": errors, "mixed_answers": mixed,
            "p50_ms": round(statistics.median(latencies) * 1000) if latencies else None,
            "p95_ms": round(quantile[18] * 1000) if latencies else None,
            "throughput_per_s": round(len(latencies) / elapsed, 2), "seconds": round(elapsed, 1),
            "worker_rss_mib": rss}


def in_process_analysis(threads):
    """A function timing ``manage.py analyze``'s work on one upload in this process, with ``threads`` torch
    threads: ``(ms without the faithfulness score, ms with it)``. Without it is what an upload now waits for."""
    import django
    import torch

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alzaware.settings")
    django.setup()
    from django.conf import settings

    from assessments.management.commands.analyze import faithfulness_of
    from assessments.reading import analyse_slices
    from assessments.services import current_engine
    from mri.explain import explanations
    from mri.io import read_scan

    torch.set_num_threads(threads)
    engine = current_engine()

    def analyse(data):
        started = time.perf_counter()
        reading = analyse_slices(engine, read_scan(data, settings.MAX_UPLOAD_BYTES))
        explanations.overlay_png(reading.gray, explanations.from_analysis(reading.analysis))
        analysed = time.perf_counter()
        faithfulness_of(engine, reading.analysis)
        return (analysed - started) * 1000, (time.perf_counter() - started) * 1000

    return analyse


def request_cost(base, token, uploads, threads, rounds=3):
    """Each upload through the API and then in this process, alternately (paired, so load from elsewhere hits
    both alike): medians and the median of the per-pair ratios."""
    analyse = in_process_analysis(threads)
    for upload in uploads:  # warm up both sides
        predict(base, token, upload)
        analyse(upload[1])
    api, local, local_full, ratios = [], [], [], []
    for _ in range(rounds):
        for upload in uploads:
            seconds, _, _ = predict(base, token, upload, server_time=True)
            plain, full = analyse(upload[1])
            api.append(seconds * 1000)
            local.append(plain)
            local_full.append(full)
            ratios.append(seconds * 1000 / plain)
    median = statistics.median
    return {"pairs": len(api), "api_ms": round(median(api), 1), "analysis_ms": round(median(local), 1),
            "analysis_with_faithfulness_ms": round(median(local_full), 1),
            "api_over_analysis": round(median(ratios), 2),
            "api_over_analysis_with_faithfulness": round(median(a / f for a, f in zip(api, local_full)), 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="http://127.0.0.1:8000")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=12, help="uploads per client (the test is bounded by this)")
    ap.add_argument("--files", type=int, default=12)
    ap.add_argument("--mail-dir", required=True,
                    help="the server's EMAIL_FILE_PATH (file-based e-mail backend): each client confirms its address")
    ap.add_argument("--data", help="the training folder (its manifest picks slices of different subjects)")
    ap.add_argument("--server-pid", type=int, help="gunicorn's master process, to read its workers' memory")
    ap.add_argument("--baseline-threads", type=int, default=1,
                    help="torch threads for the in-process per-file cost (make serve gives each worker 1)")
    ap.add_argument("--cost-only", action="store_true", help="only the paired request cost, no concurrent clients")
    args = ap.parse_args()
    if urllib.parse.urlparse(args.base).hostname not in LOOPBACK:
        raise SystemExit("load_test.py only runs against this machine (127.0.0.1 / localhost)")
    uploads = slices_from(args.data, args.files) if args.data else template_slices(args.files)
    with contextlib.redirect_stdout(sys.stderr):  # the sign-ups' step lines: stdout is the figures' JSON
        tokens = [token_for(args.base, f"load-{uuid.uuid4().hex[:10]}@example.com", args.mail_dir)
                  for _ in range(args.clients)]
    # Each file alone first: its answer is the reference for "mixed".
    alone = {upload[0]: predict(args.base, tokens[0], upload)[2] for upload in uploads}
    figures = {"clients": args.clients, "files": len(uploads),
               "request_cost": request_cost(args.base, tokens[0], uploads, args.baseline_threads)}
    if not args.cost_only:
        results, elapsed = run_clients(args.base, tokens, uploads, args.requests)
        figures["concurrent"] = report(results, elapsed, alone, worker_rss_mib(args.server_pid))
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()

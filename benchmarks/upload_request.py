"""What an upload costs in the request, now that a volume's 3-D heatmap is drawn by the task worker.

    python -m benchmarks.upload_request --repeat 3 --slices 12

In one process, on a throw-away database and media folder, through Django's test client (no network):

1. A 1 mm NIfTI volume (nilearn's MNI152 template): the upload's POST as the upload page's script sends it,
   plus the GET of its result page, which shows the grade at once; then, apart, what the task worker spends
   drawing its slice images and 3-D heatmap (assessments.tasks.draw_volume_heatmap). Target: the page in under 3 s.
2. Single slices: the upload's POST against the analysis alone (read_scan + analyse_slices, what the result
   rests on), paired per file. Target: request ÷ analysis <= 1.3. Both the median of the per-file ratios and
   the ratio of the medians are printed, as in README "Serving: measured".
Figures are printed, never asserted: run it on the machine you deploy to.
"""

import argparse
import os
import statistics
import tempfile
import time


def set_up():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alzaware.settings")
    # Production's settings otherwise, but the test client speaks plain HTTP.
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0)
    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="alzaware-bench-")


def patient_client():
    from django.test import Client
    from django.utils import timezone

    from accounts.models import Patient, User

    user = User.objects.create_user(email="bench@example.com", password="Bench-pass-phrase-1",
                                    email_confirmed_at=timezone.now())
    Patient.objects.create(user=user, date_of_birth="1950-01-01", sex=Patient.Sex.OTHER)
    client = Client()
    client.force_login(user)
    return client


def post(client, data, name):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    started = time.perf_counter()
    response = client.post(reverse("assessments:new"), {"scan": SimpleUploadedFile(name, data)},
                           HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    return response, time.perf_counter() - started


def volume_figures(client, repeat):
    from django.conf import settings

    from assessments.models import Assessment
    from assessments.reading import analyse_slices
    from assessments.services import current_engine
    from assessments.tasks import draw_volume_heatmap
    from mri.io import read_scan
    from tests.fixtures import scan_files

    data = scan_files.mni_nifti_bytes(1, compressed=True)
    pages, workers, analyses = [], [], []
    for _ in range(repeat):
        started = time.perf_counter()
        analyse_slices(current_engine(), read_scan(data, settings.MAX_UPLOAD_BYTES))
        analyses.append(time.perf_counter() - started)
        response, posted = post(client, data, "brain.nii.gz")
        assert response.status_code == 200, response.status_code
        started = time.perf_counter()
        page = client.get(response.json()["location"])
        pages.append(posted + time.perf_counter() - started)
        assert b"being prepared" in page.content
        started = time.perf_counter()
        draw_volume_heatmap.call(Assessment.objects.latest("pk").pk)
        workers.append(time.perf_counter() - started)
    print(f"1 mm NIfTI ({len(data) / 1e6:.1f} MB), upload + result page: median {statistics.median(pages):.2f} s "
          f"(each: {', '.join(f'{t:.2f}' for t in pages)}); target < 3 s")
    print(f"  the same volume read and analysed alone: median {statistics.median(analyses):.2f} s; upload + page ÷ "
          f"that: {statistics.median([p / a for p, a in zip(pages, analyses)]):.2f}x")
    print(f"  the task worker's slice images and 3-D heatmap afterwards: median {statistics.median(workers):.2f} s")


def slice_figures(client, count):
    from django.conf import settings

    from assessments.reading import analyse_slices
    from assessments.services import current_engine
    from mri.io import read_scan
    from tests.base import image_bytes
    from tests.fixtures import scan_files

    engine = current_engine()
    requests, analyses = [], []
    for offset in range(-count // 2, count - count // 2):
        data = image_bytes(scan_files.mni_axial(offset=offset))
        started = time.perf_counter()
        analyse_slices(engine, read_scan(data, settings.MAX_UPLOAD_BYTES))
        analyses.append(time.perf_counter() - started)
        response, took = post(client, data, "slice.png")
        if response.status_code != 200:
            print(f"  slice at offset {offset} refused ({response.status_code}): left out")
            analyses.pop()
            continue
        requests.append(took)
    ratios = [r / a for r, a in zip(requests, analyses)]
    print(f"single slices ({len(ratios)}): request median {statistics.median(requests) * 1000:.1f} ms, analysis "
          f"median {statistics.median(analyses) * 1000:.1f} ms")
    print(f"  request ÷ analysis: median of per-file ratios {statistics.median(ratios):.2f}x, ratio of medians "
          f"{statistics.median(requests) / statistics.median(analyses):.2f}x; target <= 1.3x")


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="volume uploads to time")
    parser.add_argument("--slices", type=int, default=12, help="single slices to time")
    args = parser.parse_args()
    print(f"load average before: {load_average():.1f} on {os.cpu_count()} CPUs")
    set_up()
    client = patient_client()
    from tests.base import image_bytes
    from tests.fixtures import scan_files

    post(client, image_bytes(scan_files.mni_axial()), "warm-up.png")  # loads the model
    volume_figures(client, args.repeat)
    slice_figures(client, args.slices)
    print(f"load average after: {load_average():.1f}")


if __name__ == "__main__":
    main()

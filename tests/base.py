"""Shared set-up: a patient, a second patient and a doctor, and scans drawn by the tests."""

import contextlib
import hashlib
import io
import logging
import os
import shutil
import tempfile
import types
import warnings
import weakref
from pathlib import Path
from unittest import mock

import numpy as np
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import SimpleTestCase, TestCase, override_settings
from django.utils import timezone
from PIL import Image, ImageDraw

from accounts.management.commands.createdoctor import grant_doctor_permissions
from accounts.models import Patient, User, doctors_group
from mri import CLASSES
from mri.inference.engine import Engine

PASSWORD = "a-Long-pass-phrase-42"


def temporary_folder(testcase, prefix="alzaware-"):
    """A new folder (a Path) that is removed, with what is in it, when ``testcase``'s test ends."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    testcase.addCleanup(shutil.rmtree, folder, ignore_errors=True)
    return folder


def without_detector():
    """The configured model's out-of-distribution detector switched off (its checks left to the cheap ones)."""
    return mock.patch("mri.inference.ood.detector_for", return_value=None)


# Per engine: the network's outputs for each batch it has been given in this test process.
NETWORK_RUNS: "weakref.WeakKeyDictionary[Engine, dict]" = weakref.WeakKeyDictionary()
network_run = Engine.run


def remembered_run(engine, batch):
    """The network's outputs for ``batch``, run once per engine and input in this process: the web tests upload
    the same few scans hundreds of times, and what they check is what the app does with the answer. The engine's
    own tests (tests/core) run the network every time; a copy is handed out, as a fresh run would be."""
    memo = NETWORK_RUNS.setdefault(engine, {})
    array = batch.detach().numpy()
    key = (array.shape, str(array.dtype), hashlib.sha256(array.tobytes()).digest())
    if key not in memo:
        memo[key] = network_run(engine, batch)
    return tuple(output.clone() for output in memo[key])


@contextlib.contextmanager
def everything_said():
    """Every log record (any logger, any level) and warning while inside, joined into one string at the end:
    ``with everything_said() as said: ...`` then ``said.text``."""
    records = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    said = types.SimpleNamespace(text="")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield said
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        said.text = " ".join([r.getMessage() for r in records] + [str(w.message) for w in caught])


def rgb_of(png):
    """Decoded with Pillow, which reads the file's channels in their stored (RGB) order."""
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def drawn_brain_slice(seed=0, size=(176, 208)):
    """A gray, roughly brain-shaped axial slice: skull-stripped head, darker ventricles, some texture."""
    rng = np.random.default_rng(seed)
    width, height = size
    image = Image.new("L", size, 0)
    draw = ImageDraw.Draw(image)
    margin_x, margin_y = 18 + rng.integers(0, 6), 16 + rng.integers(0, 6)
    draw.ellipse([margin_x, margin_y, width - margin_x, height - margin_y], fill=int(rng.integers(150, 190)))
    cx, cy = width // 2, height // 2
    ventricle = int(rng.integers(6, 18))
    draw.ellipse([cx - ventricle - 8, cy - 30, cx - 8, cy + 20], fill=40)
    draw.ellipse([cx + 8, cy - 30, cx + ventricle + 8, cy + 20], fill=40)
    pixels = np.asarray(image, dtype=np.float32)
    pixels += rng.normal(0, 8, pixels.shape) * (pixels > 0)
    return np.uint8(np.clip(pixels, 0, 255))


def draw_dataset(folder, classes, subjects_per_class=4, slices=8):
    """A tiny training folder of drawn slices with manifest.csv (path,label,subject,slice); returns ``folder``."""
    import csv

    rows = []
    for index, label in enumerate(classes):
        (folder / "images" / label).mkdir(parents=True, exist_ok=True)
        for subject in range(subjects_per_class):
            name = f"{label[:3].lower()}{subject}"
            for s in range(slices):
                path = f"images/{label}/{name}_s{s}.png"
                Image.fromarray(drawn_brain_slice(100 * index + 10 * subject + s)).save(folder / path)
                rows.append([path, label, name, s])
    with open(folder / "manifest.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "subject", "slice"])
        writer.writerows(rows)
    return folder


class DrawnTrainingFolder(SimpleTestCase):
    """A tiny training folder drawn once per class (``cls.data``), and where a model trained on it goes."""

    subjects_per_class = 4
    slices = 8

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.TemporaryDirectory()
        root = Path(cls.tmp.name)
        cls.data = draw_dataset(root / "data", CLASSES[:3], cls.subjects_per_class, cls.slices)
        cls.checkpoint = root / "models" / "tiny.pt"
        cls.run_dir = root / "run"

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()
        super().tearDownClass()


def image_bytes(pixels, fmt="PNG"):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(data, name="scan.png", content_type="image/png"):
    return SimpleUploadedFile(name, data, content_type=content_type)


class OwnMedia:
    """Each test gets its own empty MEDIA_ROOT, so what it stores can be counted; the detector is off unless
    ``use_ood_detector``."""

    # The web-flow tests upload drawn cartoon slices, which the model's
    # out-of-distribution detector would rightly refuse as unlike any scan; it is
    # switched on where it is under test (tests.core.test_bad_inputs, tests.web.test_scan_uploads).
    use_ood_detector = False

    def setUp(self):
        # The request-rate counts (accounts.throttles) live in the cache, which no test transaction rolls back.
        cache.clear()
        if not self.use_ood_detector:
            no_detector = without_detector()
            no_detector.start()
            self.addCleanup(no_detector.stop)
        remembered = mock.patch.object(Engine, "run", remembered_run)
        remembered.start()
        self.addCleanup(remembered.stop)
        self.media_root = str(temporary_folder(self, "alzaware-media-"))
        media = override_settings(MEDIA_ROOT=self.media_root)
        media.enable()
        self.addCleanup(media.disable)

    def stored_files(self):
        return sorted(
            os.path.relpath(os.path.join(folder, name), self.media_root)
            for folder, _, names in os.walk(self.media_root)
            for name in names
        )


class AlzAwareTestCase(OwnMedia, TestCase):
    """A patient, a second patient and a doctor (of the first patient)."""

    @classmethod
    def setUpTestData(cls):
        make_people(cls)

    def login(self, user):
        self.client.force_login(user)


def stored_assessment(patient, seed=0, prediction=CLASSES[1]):
    """An assessment row with a drawn scan and overlay on disk, made without the model: for pages that only list."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from assessments.models import Assessment, random_name

    gray = drawn_brain_slice(seed)
    scan = default_storage.save(random_name("scans", ".png"), ContentFile(image_bytes(gray)))
    overlay = default_storage.save(random_name("heatmaps", ".png"), ContentFile(image_bytes(np.dstack([gray] * 3))))
    probabilities = {name: (0.7 if name == prediction else 0.1) for name in CLASSES}
    return Assessment.objects.create(patient=patient, scan=scan, overlay=overlay, prediction=prediction,
                                     confidence=0.7, probabilities=probabilities)


def make_people(holder):
    """``holder.patient``, ``holder.other_patient`` and ``holder.doctor`` (the first patient's doctor)."""
    holder.patient = make_patient("ada@example.com", "Ada", "Lovelace")
    holder.other_patient = make_patient("bob@example.com", "Bob", "Other")
    holder.doctor = make_doctor(holder.patient)


def make_doctor(*patients):
    """A doctor (staff, in the Doctors group with its permissions) whom ``patients`` share their results with."""
    doctor = User.objects.create_user(
        email="dr.who@example.com", password=PASSWORD, first_name="Gregory", last_name="House", is_staff=True
    )
    group = doctors_group()
    grant_doctor_permissions(group)
    doctor.groups.add(group)
    for patient in patients:
        patient.doctors.add(doctor)
    return doctor


def make_patient(email, first_name, last_name, confirmed=True):
    """A patient; ``confirmed``: whether their e-mail address is confirmed (only then may they upload)."""
    user = User.objects.create_user(email=email, password=PASSWORD, first_name=first_name, last_name=last_name,
                                    email_confirmed_at=timezone.now() if confirmed else None)
    return Patient.objects.create(user=user, date_of_birth="1948-05-17", sex=Patient.Sex.FEMALE)


def threaded_mismatches(engine, grays, repeats):
    """``(mismatches, errors)`` when one thread per slice analyses it ``repeats`` times at once with ``engine``:
    every answer must be exactly the serial one (the engine is shared by a server's request threads)."""
    import threading

    serial = [engine.analyse(g) for g in grays]
    mismatches, errors = [], []
    start = threading.Barrier(len(grays))

    def work(k):
        try:
            start.wait()
            for repeat in range(repeats):
                got = engine.analyse(grays[k])
                if not (np.array_equal(got.maps, serial[k].maps)
                        and np.array_equal(got.probabilities, serial[k].probabilities)):
                    mismatches.append((k, repeat))
        except Exception as exc:  # reported to the caller
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(grays))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return mismatches, errors


def training_command(name, *args, stdout=None):
    """``python -m training NAME ARGS`` in this process, its lines into ``stdout``; a non-zero exit fails the test."""
    from training.cli import main

    status = main([name, *map(str, args)], out=stdout or io.StringIO())
    if status:
        raise AssertionError(f"python -m training {name} exited with status {status}")


def stored_review(assessment, author, verdict="agree", grade="", sharing="verdict", note="", reason=""):
    """A doctor's review saved as the review page saves it (the grade the verdict implies, the model's copied)."""
    from assessments.models import Review

    review = Review(assessment=assessment, author=author, verdict=verdict, grade=grade, sharing=sharing, note=note,
                    cannot_tell_reason=reason)
    review.full_clean()
    review.save()
    return review

"""The extension points: a new input format, inference engine or explanation method is one registration, and
everything that lists or uses them sees it (the reader registry, the engine registry, the explanation methods)."""

import json
import struct

import numpy as np
import torch
from django.conf import settings
from django.test import SimpleTestCase
from django.urls import reverse

from assessments.models import Assessment
from mri.explain import ExplanationMethod, method
from mri.inference import engine_choice
from mri.inference.checkpoint import load_checkpoint
from mri.inference.engine import Engine
from mri.inference.engines import Eager
from mri.io import errors, read_scan, registry
from mri.io.__main__ import formats_table
from mri.io.registry import Reader
from mri.io.scan import slice_scan
from tests.base import AlzAwareTestCase, drawn_brain_slice, temporary_folder, upload

MAGIC = b"ALZRAW1"


def raw_bytes(gray):
    """A made-up format: a signature, the width and height, then the 8-bit pixels row by row."""
    height, width = gray.shape
    return MAGIC + struct.pack(">HH", width, height) + gray.tobytes()


def read_raw(data, nested):
    if not data.startswith(MAGIC):
        return None
    width, height = struct.unpack(">HH", data[len(MAGIC):len(MAGIC) + 4])
    pixels = np.frombuffer(data[len(MAGIC) + 4:], dtype=np.uint8).reshape(height, width)
    return slice_scan(pixels.copy(), "alzraw")


RAW = Reader("alzraw", read_raw, {"alzraw": "ALZRAW slice"}, listed=("ALZRAW",))


class FormatRegistryTests(AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        registry.register(RAW)
        self.addCleanup(registry.unregister, RAW.name)

    def test_a_registered_format_is_read_by_its_reader(self):
        gray = drawn_brain_slice(3)
        scan = read_scan(raw_bytes(gray), 1 << 20)
        self.assertEqual(scan.source_format, "alzraw")
        np.testing.assert_array_equal(scan.gray, gray)

    def test_an_upload_in_a_registered_format_is_stored_and_shown_by_its_name(self):
        self.login(self.patient.user)
        answer = self.client.post(reverse("api-predict"), {"file": upload(raw_bytes(drawn_brain_slice(4)), "x.raw")})
        self.assertEqual(answer.status_code, 200)
        stored = Assessment.objects.get()
        self.assertEqual(stored.source_format, "alzraw")
        self.assertContains(self.client.get(stored.get_absolute_url()), "ALZRAW slice")

    def test_the_form_the_schema_and_the_refusal_name_a_registered_format(self):
        self.login(self.patient.user)
        self.assertContains(self.client.get(reverse("assessments:new")), "(PNG, JPEG, TIFF, BMP, DICOM or ALZRAW)")
        schema = self.client.get(reverse("api-schema"), {"format": "json"}).json()
        described = schema["components"]["schemas"]["PredictRequest"]["properties"]["file"]["description"]
        self.assertIn("DICOM or ALZRAW", described)
        self.assertIn("ZIP", described)
        self.assertIn("several 'file' fields", described)
        with self.assertRaises(errors.ScanRejected) as refused:
            read_scan(b"just some words, not a scan at all\n" * 4, 1 << 20)
        self.assertIn("BMP, DICOM or ALZRAW, or a brain MRI volume", refused.exception.message)
        self.assertIn("| alzraw | `alzraw`: ALZRAW slice | ALZRAW | no |", formats_table())

    def test_an_unregistered_format_is_refused_and_no_longer_named(self):
        registry.unregister(RAW.name)
        with self.assertRaises(errors.ScanRejected) as refused:
            read_scan(raw_bytes(drawn_brain_slice(3)), 1 << 20)
        self.assertEqual(refused.exception.code, "unreadable")
        self.assertNotIn("ALZRAW", refused.exception.message)
        self.assertNotIn("alzraw", registry.FORMAT_NAMES)


class Halved(Eager):
    """A made-up engine: eager float32 whose logits are halved (softer probabilities, the same grade)."""

    def __init__(self, model, explanation=None):
        super().__init__(model, "halved", explanation=explanation)

    def run(self, batch):
        logits, maps, features = super().run(batch)
        return logits / 2, maps, features


class ChannelMean(ExplanationMethod):
    """A made-up explanation method: every class's map is the activation's mean over its channels."""

    name = "channel-mean"

    def cam_weights(self, activation, fc):
        return torch.full_like(fc.weight, 1.0 / fc.weight.shape[1])


class EngineAndExplanationRegistryTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model, cls.checkpoint = load_checkpoint(settings.ALZAWARE_MODEL_PATH)
        size = int(cls.checkpoint["input_size"])
        cls.batch = Engine(cls.model, cls.checkpoint).prepare(drawn_brain_slice(5))[0][None]
        cls.size = size

    def setUp(self):
        engine_choice.register("halved", lambda model, path, size, explanation=None: Halved(model, explanation))
        self.addCleanup(engine_choice.unregister, "halved")
        method.register(ChannelMean)
        self.addCleanup(method.unregister, ChannelMean.name)

    def test_a_registered_engine_is_built_by_name_and_served_when_it_passed_the_gate_fastest(self):
        self.assertIn("halved", engine_choice.names())
        path = str(temporary_folder(self) / "model.pt")
        report = engine_choice.report_path(path)
        report.parent.mkdir(parents=True)
        report.write_text(json.dumps({"checkpoint_sha256": "a" * 64, "engines": [
            {"name": "eager", "median_ms": 20.0, "passed": True}, {"name": "halved", "median_ms": 5.0, "passed": True}]}))
        backend, why = engine_choice.choose(self.model, path, "a" * 64, self.size, requested="")
        self.assertEqual((backend.name, why), ("halved", "fastest that passed the engine gate (halved)"))
        eager_logits = Eager(self.model).run(self.batch)[0]
        torch.testing.assert_close(backend.run(self.batch)[0], eager_logits / 2)

    def test_a_registered_explanation_method_draws_the_maps_of_any_torch_engine(self):
        for name in ("eager", "eager-contiguous", "torchscript", "halved"):
            with self.subTest(engine=name):
                backend = engine_choice.build(name, self.model, "unused.pt", self.size, explanation="channel-mean")
                _, maps, _ = backend.run(self.batch)
                activation = Engine(self.model, self.checkpoint).layer4(self.batch)
                expected = torch.relu(activation.mean(dim=1, keepdim=True)).expand_as(maps)
                torch.testing.assert_close(maps, expected, rtol=1e-4, atol=1e-6)

    def test_the_calibrated_log_odds_map_is_the_default_and_draws_nine_by_nine_maps_at_80_px(self):
        _, maps, _ = Eager(self.model).run(self.batch)
        _, named, _ = Eager(self.model, explanation="log-odds-shift-and-average").run(self.batch)
        self.assertEqual(method.DEFAULT, "log-odds-shift-and-average")
        self.assertEqual(tuple(maps.shape), (1, len(self.checkpoint["classes"]), 9, 9))
        torch.testing.assert_close(maps, named, rtol=0, atol=0)
        with self.assertRaisesRegex(ValueError, "unknown explanation method 'hirescam'; one of: grad-cam, "
                                    "shift-and-stitch, shift-and-average, log-odds-shift-and-average"):
            Eager(self.model, explanation="hirescam")

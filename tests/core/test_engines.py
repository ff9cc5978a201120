"""The inference engines: ONNX Runtime against eager PyTorch, stale exports refused, threads, and the choice rule.

The ONNX model is exported once here, into a temporary folder, from the shipped
checkpoint (linked, not copied), so these tests need nothing built beforehand.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
from django.conf import settings
from django.core.management import call_command
from django.test import SimpleTestCase, tag

from benchmarks import engine_bench
from mri.inference import engine_choice, onnx_model
from mri.inference.checkpoint import expected_sha256, hash_file_for, load_checkpoint
from mri.inference.engine import Engine
from mri.inference.engines import Unavailable
from tests.base import everything_said, temporary_folder, threaded_mismatches, training_command
from tests.fixtures import scan_files

# Measured on the shipped checkpoint (models/alzaware-resnet50/engines.md): ONNX Runtime's calibrated
# probabilities differ from eager float32's by at most ~1e-6; 1e-4 leaves room for other CPUs' kernels.
PROBABILITY_TOLERANCE = 1e-4


def linked_checkpoint(folder, source=None):
    """The checkpoint (and its hash record) linked into ``folder``, so an export beside it lands there."""
    source = Path(source or settings.ALZAWARE_MODEL_PATH)
    target = Path(folder) / source.name
    os.symlink(source.resolve(), target)
    os.symlink(hash_file_for(source).resolve(), hash_file_for(target))
    return target


def mni_grays():
    return [scan_files.mni_axial(offset) for offset in range(-24, 25, 8)] + [scan_files.mni_coronal(0)]


EXPORT: dict[str, Any] = {}


def setUpModule():
    # One export for the module: ResNet50's export costs seconds, and no test here changes the shipped one.
    EXPORT["tmp"] = tempfile.mkdtemp(prefix="alzaware-onnx-")
    EXPORT["path"] = linked_checkpoint(EXPORT["tmp"])
    call_command("export_onnx", model=str(EXPORT["path"]), stdout=open(os.devnull, "w"))


def tearDownModule():
    shutil.rmtree(EXPORT.pop("tmp"), ignore_errors=True)


class ExportedModel(SimpleTestCase):
    """The shipped checkpoint exported to ONNX once for the module (``cls.path``, ``cls.model``,
    ``cls.checkpoint``); ``cls.tmp`` is the class's own folder."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="alzaware-onnx-class-")
        cls.path = EXPORT["path"]
        cls.model, cls.checkpoint = load_checkpoint(cls.path)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def engines(self, names):
        built, unavailable = engine_bench.engines_for(self.model, self.checkpoint, self.path, names)
        self.assertEqual(unavailable, {})
        return built


class OnnxAgreementTests(ExportedModel):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        built, _ = engine_bench.engines_for(cls.model, cls.checkpoint, cls.path, ("eager", "onnx"))
        cls.eager, cls.onnx = built["eager"], built["onnx"]
        cls.expected = cls.eager.analyse_many(mni_grays())
        cls.got = cls.onnx.analyse_many(mni_grays())

    def test_the_export_records_the_checkpoint_it_came_from(self):
        self.assertEqual(onnx_model.recorded_source(onnx_model.path_for(self.path)), expected_sha256(self.path))
        self.assertEqual(self.onnx.backend_name, "onnx")

    def test_onnx_probabilities_match_eager_on_mni_slices(self):
        for expected, got in zip(self.expected, self.got):
            np.testing.assert_allclose(got.probabilities, expected.probabilities, rtol=0, atol=PROBABILITY_TOLERANCE)

    def test_onnx_predicts_what_eager_predicts(self):
        self.assertEqual([a.prediction for a in self.got], [a.prediction for a in self.expected])

    def test_the_export_draws_the_default_nine_by_nine_maps_and_says_so(self):
        self.assertEqual(onnx_model.recorded_method(onnx_model.path_for(self.path)), "log-odds-shift-and-average")
        self.assertEqual([a.maps.shape for a in self.got], [(len(self.checkpoint["classes"]), 9, 9)] * len(self.got))

    def test_onnx_maps_correlate_with_eager_maps(self):
        r = [engine_bench.map_correlation(e.maps[e.predicted_index], g.maps[e.predicted_index])
             for e, g in zip(self.expected, self.got)]
        self.assertGreaterEqual(min(r), 0.99, r)

    def test_onnx_features_match_eager(self):
        # The out-of-distribution detector reads these: they must be the same features, not just close maps.
        for expected, got in zip(self.expected, self.got):
            np.testing.assert_allclose(got.features, expected.features, rtol=1e-3, atol=1e-4)

    def test_eight_threads_sharing_one_session_get_the_serial_answers(self):
        grays = mni_grays()
        mismatches, errors = threaded_mismatches(self.onnx, grays, repeats=5)
        self.assertEqual(errors, [])
        self.assertEqual(mismatches, [])


class StaleExports(ExportedModel):
    """A stand-in checkpoint beside the shipped one's export, and the shipped export with its method unrecorded."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.untrained = Path(cls.tmp) / "untrained"
        cls.untrained.mkdir()
        training_command("make_untrained_model", "--out", cls.untrained / "stand-in.pt", "--input-size", 80)

    def stand_in_with_the_shipped_export(self):
        """A different checkpoint whose .onnx was exported from the shipped one: what a replaced model leaves."""
        folder = Path(tempfile.mkdtemp(prefix="alzaware-stale-", dir=self.tmp))
        for made in self.untrained.iterdir():
            shutil.copy(made, folder / made.name)
        stand_in = folder / "stand-in.pt"
        shutil.copy(onnx_model.path_for(self.path), onnx_model.path_for(stand_in))
        return stand_in

    def export_without_the_method(self):
        """The shipped checkpoint beside its export with the method's record removed: what an export made before
        the method was recorded leaves (it drew Grad-CAM)."""
        import onnx

        folder = Path(tempfile.mkdtemp(prefix="alzaware-unrecorded-", dir=self.tmp))
        path = linked_checkpoint(folder)
        graph = onnx.load(str(onnx_model.path_for(self.path)))
        kept = [prop for prop in graph.metadata_props if prop.key != onnx_model.METHOD_KEY]
        del graph.metadata_props[:]
        graph.metadata_props.extend(kept)
        onnx.save(graph, str(onnx_model.path_for(path)))
        return path


class StaleExportTests(StaleExports):
    def test_a_stale_export_is_refused(self):
        stand_in = self.stand_in_with_the_shipped_export()
        model, _ = load_checkpoint(stand_in)
        with self.assertRaisesRegex(Unavailable, "stand-in.onnx is stale: exported from checkpoint "
                                    + expected_sha256(self.path)[:12]):
            engine_choice.build("onnx", model, stand_in, 80)

    def test_a_stale_export_asked_for_falls_back_to_eager_and_says_so(self):
        stand_in = self.stand_in_with_the_shipped_export()
        model, _ = load_checkpoint(stand_in)
        with everything_said() as said:
            backend, why = engine_choice.choose(model, stand_in, expected_sha256(stand_in), 80, requested="onnx")
        self.assertEqual(backend.name, "eager")
        self.assertIn("stale", why)
        self.assertIn("ALZAWARE_ENGINE=onnx cannot run here (stand-in.onnx is stale", said.text)

    def test_an_export_drawing_another_method_is_refused(self):
        with self.assertRaisesRegex(Unavailable, "alzaware-resnet50.onnx is stale: its maps are drawn by "
                                    "log-odds-shift-and-average, not grad-cam"):
            engine_choice.build("onnx", self.model, self.path, 80, explanation="grad-cam")
        self.assertFalse(onnx_model.is_current(self.path, explanation="grad-cam"))
        self.assertTrue(onnx_model.is_current(self.path))

    def test_an_export_without_a_recorded_method_counts_as_grad_cam_and_is_stale(self):
        path = self.export_without_the_method()
        self.assertEqual(onnx_model.recorded_source(onnx_model.path_for(path)), expected_sha256(path))
        self.assertFalse(onnx_model.is_current(path))
        with self.assertRaisesRegex(Unavailable, "alzaware-resnet50.onnx is stale: its maps are drawn by grad-cam, "
                                    "not log-odds-shift-and-average"):
            engine_choice.build("onnx", self.model, path, 80)
        backend, why = engine_choice.choose(self.model, path, expected_sha256(path), 80, requested="onnx")
        self.assertEqual(backend.name, "eager")
        self.assertIn("drawn by grad-cam", why)

    def test_a_missing_export_falls_back_to_eager(self):
        folder = Path(tempfile.mkdtemp(prefix="alzaware-missing-", dir=self.tmp))
        path = linked_checkpoint(folder)
        backend, why = engine_choice.choose(self.model, path, expected_sha256(path), 80, requested="onnx")
        self.assertEqual(backend.name, "eager")
        self.assertIn("alzaware-resnet50.onnx is missing", why)


@tag("slow")  # two whole ResNet50 exports to ONNX, seconds each
class ExportRewriteTests(StaleExports):
    def test_export_onnx_rewrites_an_export_without_a_recorded_method(self):
        path = self.export_without_the_method()
        call_command("export_onnx", model=str(path), stdout=open(os.devnull, "w"))
        self.assertEqual(onnx_model.recorded_method(onnx_model.path_for(path)), "log-odds-shift-and-average")
        self.assertTrue(onnx_model.is_current(path))

    def test_export_onnx_rewrites_a_stale_export(self):
        stand_in = self.stand_in_with_the_shipped_export()
        call_command("export_onnx", model=str(stand_in), stdout=open(os.devnull, "w"))
        self.assertEqual(onnx_model.recorded_source(onnx_model.path_for(stand_in)), expected_sha256(stand_in))


class ChoiceRuleTests(SimpleTestCase):
    """The fastest engine that passed the gate for this checkpoint and can run here; ALZAWARE_ENGINE overrides."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model, cls.checkpoint = load_checkpoint(settings.ALZAWARE_MODEL_PATH)

    def setUp(self):
        self.tmp = str(temporary_folder(self))
        self.path = linked_checkpoint(self.tmp)
        self.sha256 = expected_sha256(self.path)
        environment = mock.patch.dict(os.environ)
        environment.start()
        self.addCleanup(environment.stop)
        os.environ.pop(engine_choice.ENGINE_ENV, None)

    def gate_report(self, rows, sha256=None):
        target = engine_choice.report_path(self.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        engines = [{"name": name, "median_ms": ms, "passed": passed} for name, ms, passed in rows]
        target.write_text(json.dumps({"checkpoint_sha256": sha256 or self.sha256, "engines": engines}))

    def choose(self, requested=None):
        return engine_choice.choose(self.model, self.path, self.sha256, 80, requested)

    def test_it_serves_the_fastest_engine_that_passed(self):
        self.gate_report([("eager", 20.0, True), ("eager-contiguous", 10.0, True), ("bf16", 2.0, False)])
        backend, why = self.choose()
        self.assertEqual(backend.name, "eager-contiguous")
        self.assertEqual(why, "fastest that passed the engine gate (eager-contiguous)")

    def test_it_skips_a_passed_engine_that_cannot_run_here_and_says_why(self):
        self.gate_report([("eager", 20.0, True), ("onnx", 2.0, True)])  # no .onnx beside this checkpoint
        backend, why = self.choose()
        self.assertEqual(backend.name, "eager")
        self.assertIn("skipped onnx: alzaware-resnet50.onnx is missing", why)

    def test_a_report_of_another_checkpoint_counts_for_nothing(self):
        self.gate_report([("eager", 20.0, True), ("eager-contiguous", 10.0, True)], sha256="0" * 64)
        backend, why = self.choose()
        self.assertEqual(backend.name, "eager")
        self.assertEqual(why, "no engine gated for this checkpoint")

    def test_without_a_report_it_serves_eager(self):
        self.assertEqual(self.choose()[0].name, "eager")

    def test_the_environment_variable_overrides_the_report(self):
        self.gate_report([("eager", 20.0, True), ("eager-contiguous", 10.0, True)])
        os.environ[engine_choice.ENGINE_ENV] = "eager"
        backend, why = self.choose()
        self.assertEqual((backend.name, why), ("eager", "ALZAWARE_ENGINE=eager"))

    def test_an_unknown_engine_name_is_an_error(self):
        with self.assertRaisesRegex(ValueError, "unknown engine 'tensorrt'; ALZAWARE_ENGINE must be one of: eager"):
            self.choose("tensorrt")

    def test_bf16_is_unavailable_on_a_cpu_without_bf16_instructions(self):
        with mock.patch("mri.inference.engines.cpu_flags", return_value=frozenset({"avx2", "avx512f"})):
            backend, why = self.choose("bf16")
        self.assertEqual(backend.name, "eager")
        self.assertIn("this CPU has none of ['amx_bf16', 'avx512_bf16']", why)

    def test_the_loaded_engine_names_its_backend_and_logs_the_choice(self):
        self.gate_report([("eager", 20.0, True), ("eager-contiguous", 10.0, True)])
        from mri.inference.engine import served_engine

        with everything_said() as said:
            engine = served_engine(self.path)
        self.assertEqual(engine.backend_name, "eager-contiguous")
        self.assertIn(f"Model alzaware-resnet50.pt ({self.sha256[:12]}) served by the eager-contiguous engine", said.text)
        self.assertIsInstance(engine, Engine)

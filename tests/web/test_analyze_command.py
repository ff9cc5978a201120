"""`manage.py analyze`: the web app's analysis on files, without the database."""

import io
import json
from pathlib import Path

import numpy as np
from django.core.management import call_command
from django.test import SimpleTestCase

from mri import CLASSES
from mri.explain import explanations
from tests.base import image_bytes, rgb_of, temporary_folder
from tests.slices import admit_slices_to_the_app, brain_slices


class AnalyzeCommandTests(SimpleTestCase):
    def setUp(self):
        self.folder = temporary_folder(self)
        admit_slices_to_the_app(self)
        self.gray = brain_slices(20)[4][1]
        self.scan = self.folder / "slice.png"
        self.scan.write_bytes(image_bytes(self.gray))

    def analyse(self, *args):
        out = io.StringIO()
        call_command("analyze", *args, stdout=out)
        return [json.loads(line) for line in out.getvalue().splitlines()]

    def test_it_prints_the_four_keys_and_writes_an_overlay_whose_hottest_region_is_red(self):
        [result] = self.analyse(str(self.scan), "--json", "--out", str(self.folder / "out"))
        self.assertLessEqual({"prediction", "confidence", "class_probabilities", "faithfulness"}, set(result))
        self.assertIn(result["prediction"], CLASSES)
        self.assertEqual(list(result["class_probabilities"]), list(CLASSES))
        self.assertRegex(result["class_probabilities"][CLASSES[0]], r"^\d{1,3}\.\d\d%$")
        self.assertIsInstance(result["faithfulness"], float)

        maps = explanations.from_npz(Path(result["maps"]).read_bytes())
        self.assertEqual(maps.maps.shape[0], len(CLASSES))
        heat = maps.map_on_image(maps.predicted_index)
        y, x = np.unravel_index(np.argmax(heat), heat.shape)
        r, g, b = rgb_of(Path(result["overlay"]).read_bytes())[y, x]
        self.assertGreater(r - b, 40, (r, g, b))

    def test_a_refused_file_is_reported_and_the_command_fails_at_the_end(self):
        text = self.folder / "notes.png"
        text.write_text("not a scan")
        out = io.StringIO()
        with self.assertRaises(SystemExit) as exit_status:
            call_command("analyze", str(text), str(self.scan), "--json", stdout=out)
        self.assertEqual(exit_status.exception.code, 1)
        refused, analysed = [json.loads(line) for line in out.getvalue().splitlines()]
        self.assertEqual(refused["error"], "unreadable")
        self.assertTrue(refused["detail"])
        self.assertIn(analysed["prediction"], CLASSES)

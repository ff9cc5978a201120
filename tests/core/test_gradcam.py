"""The Grad-CAM engine against the reference implementations, a sanity check, and many threads at once.

All on the app's configured model (the trained one once it ships) and 20 real
brain slices, through an engine drawing Grad-CAM by name: the app's default map is the Grad-CAM of the calibrated
log-odds on the shift-and-average grid (tests/core/test_log_odds_map.py, tests/core/test_shift_and_stitch.py),
built from closed-form Grad-CAM maps of shifted inputs as these are.
The engine gives the maps of all classes in one forward pass
with no backward; pytorch-grad-cam and Captum run the textbook way (hooks and a
backward pass) on a private copy of the model, so the shared one is never touched.
"""

import copy

import numpy as np
import torch
from django.conf import settings
from django.test import SimpleTestCase
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.image import scale_cam_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from scipy.stats import pearsonr, spearmanr

from mri.inference.checkpoint import load_checkpoint
from mri.inference.engine import Engine, get_engine
from mri.inference.engines import Eager
from tests.base import threaded_mismatches
from tests.slices import brain_slices, source

SLICES = 20


def is_flat(cam):
    return float(cam.max() - cam.min()) <= 1e-12


def shown_class(analysis):
    """The predicted class, or the most probable class with a non-flat map.

    An untrained or very sure model can leave a class's map all zero after the
    ReLU; such a map has no pattern to compare, so the next class is used.
    """
    for index in np.argsort(-analysis.probabilities):
        if not is_flat(analysis.maps[index]):
            return int(index)
    return None


def grad_enabled_copy(model):
    """A private copy that can be backpropagated through (the shared model has gradients switched off)."""
    clone = copy.deepcopy(model).eval()
    for p in clone.parameters():
        p.requires_grad_(True)
    return clone


class Fixture:
    """The engine's analyses of the slices, computed once for all tests in this file.

    Slices whose every class map is flat would be dropped; the tests insist there are none."""

    _done = None

    @classmethod
    def get(cls):
        if cls._done is None:
            model, checkpoint = load_checkpoint(settings.ALZAWARE_MODEL_PATH)
            engine = Engine(model, checkpoint, Eager(copy.deepcopy(model), explanation="grad-cam"))
            grays = [gray for _, gray in brain_slices(SLICES)]
            analyses = engine.analyse_many(grays)
            classes = [shown_class(a) for a in analyses]
            usable = [i for i, c in enumerate(classes) if c is not None]
            batch = torch.stack([analyses[i].tensor for i in usable])
            cls._done = engine, analyses, usable, [classes[i] for i in usable], batch
        return cls._done


class ReferenceAgreementTests(SimpleTestCase):
    def setUp(self):
        self.engine, self.analyses, self.usable, self.classes, self.batch = Fixture.get()
        # Every slice must have a map to compare; otherwise the test proves less than it says.
        self.assertEqual(len(self.usable), SLICES, f"too few non-flat maps on {source()}")

    def test_it_agrees_with_pytorch_grad_cam_on_layer4(self):
        model = grad_enabled_copy(self.engine.model)
        with GradCAM(model=model, target_layers=[model.layer4]) as cam:
            theirs = cam(input_tensor=self.batch.clone(), targets=[ClassifierOutputTarget(c) for c in self.classes])
        size = self.batch.shape[-1]
        correlations = []
        for row, (i, c) in enumerate(zip(self.usable, self.classes)):
            # Ours through pytorch-grad-cam's own scaling and resize: the two maps on the same grid.
            ours = scale_cam_image(self.analyses[i].maps[c][None], (size, size))[0]
            correlations.append(pearsonr(ours.ravel(), theirs[row].ravel()).statistic)
        self.assertGreaterEqual(min(correlations), 0.99, correlations)

    def test_it_agrees_with_captum_layer_grad_cam(self):
        from captum.attr import LayerGradCam

        model = grad_enabled_copy(self.engine.model)
        theirs = LayerGradCam(model, model.layer4).attribute(
            self.batch.clone(), target=self.classes, relu_attributions=True
        ).detach()[:, 0].numpy()
        correlations = [
            pearsonr(self.analyses[i].maps[c].ravel(), theirs[row].ravel()).statistic
            for row, (i, c) in enumerate(zip(self.usable, self.classes))
        ]
        self.assertGreaterEqual(min(correlations), 0.99, correlations)

    def test_the_maps_change_when_the_top_layers_are_randomised(self):
        """Adebayo et al. (2018): a map that survives re-initialising the weights explains nothing.

        The maps are ranked before Grad-CAM's final ReLU. A randomised head
        mostly leaves the rectified map all zero, and a flat map would "pass" by
        having no ranking at all; the un-rectified map always has one, so this
        is the stricter test.
        """
        model = copy.deepcopy(self.engine.model)
        torch.manual_seed(2018)
        for module in list(model.layer4.modules()) + [model.fc]:
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        randomised = Engine(model, self.engine.checkpoint, Eager(copy.deepcopy(model), explanation="grad-cam"))
        before, after = unrectified_maps(self.engine, self.batch), unrectified_maps(randomised, self.batch)
        rhos = [spearmanr(before[row, c].ravel(), after[row, c].ravel()).statistic
                for row, c in enumerate(self.classes)]
        # The rectified maps the app shows are exactly the positive part of these.
        shown = np.stack([self.analyses[i].maps[c] for i, c in zip(self.usable, self.classes)])
        np.testing.assert_allclose(shown, np.maximum(before[np.arange(len(self.classes)), self.classes], 0),
                                   rtol=1e-4, atol=1e-7)
        self.assertLess(float(np.mean(rhos)), 0.5, rhos)


def unrectified_maps(engine, batch):
    """Grad-CAM before its ReLU, (B, C, h, w): the closed form the engine uses, without the rectifier."""
    with torch.inference_mode():
        activation = engine.layer4(batch)
        h, w = activation.shape[-2:]
        return (torch.einsum("ck,bkhw->bchw", engine.fc_weight, activation) / (h * w)).numpy()


class ThreadSafetyTests(SimpleTestCase):
    def test_eight_threads_get_exactly_the_maps_of_a_serial_run(self):
        engine = get_engine(settings.ALZAWARE_MODEL_PATH)
        grays = [gray for _, gray in brain_slices(SLICES)[:8]]
        mismatches, errors = threaded_mismatches(engine, grays, repeats=4)
        self.assertEqual(errors, [])
        self.assertEqual(mismatches, [])
        serial = [engine.analyse(gray) for gray in grays[:2]]
        # Different images really give different maps, so a mix-up could not pass unseen.
        self.assertFalse(np.array_equal(serial[0].maps, serial[1].maps))

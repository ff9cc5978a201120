"""Shift-and-stitch Grad-CAM (mri.explain.shift_and_stitch): a 9 x 9 map of the same network at the served 80 px,
each value a plain Grad-CAM value of the input moved by a third of a cell; and its averaged, smoother form.

Measured against the 3 x 3 Grad-CAM map in MODEL_CARD.md ("The heatmap"); the averaged form is the app's default."""

import copy

import numpy as np
import torch
from django.test import SimpleTestCase
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.image import scale_cam_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from scipy.stats import pearsonr

from mri.explain.shift_and_stitch import STEPS, offsets, shifted
from mri.inference.engines import Eager, TorchScript
from tests.slices import model_engine_and_batch

SLICES = 6


class ShiftAndStitchTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model, cls.checkpoint, cls.engine, cls.batch = model_engine_and_batch(SLICES)
        cls.coarse = Eager(copy.deepcopy(cls.model), explanation="grad-cam").run(cls.batch)[1]
        cls.stitched = Eager(copy.deepcopy(cls.model), explanation="shift-and-stitch").run(cls.batch)[1]

    def test_the_map_is_three_times_finer_than_layer4(self):
        h, w = self.coarse.shape[-2:]
        self.assertEqual(tuple(self.stitched.shape), (SLICES, len(self.engine.classes), h * STEPS, w * STEPS))

    def test_the_centre_of_every_block_is_the_unshifted_grad_cam_map(self):
        centre = STEPS // 2
        torch.testing.assert_close(self.stitched[..., centre::STEPS, centre::STEPS], self.coarse,
                                   rtol=1e-4, atol=1e-6)

    def test_shifts_are_a_third_of_a_cell_either_way_at_80_px(self):
        self.assertEqual(offsets(80, 3), [9, 0, -9])

    def test_the_input_is_moved_over_black(self):
        batch = torch.arange(16, dtype=torch.float32).reshape(1, 1, 4, 4) + 5
        moved = shifted(batch, [(1, -2)])
        self.assertEqual(moved[0, 0, 0].tolist(), [5.0] * 4)  # the darkest value fills what came in
        self.assertEqual(moved[0, 0, 1].tolist(), [7.0, 8.0, 5.0, 5.0])

    def test_a_shifted_block_agrees_with_pytorch_grad_cam_on_the_shifted_input(self):
        size = self.batch.shape[-1]
        dy, dx = offsets(size, 3)[0], offsets(size, 3)[2]
        moved = shifted(self.batch, [(dy, dx)])
        classes = self.stitched[:, :, 0::STEPS, 2::STEPS].flatten(2).amax(2).argmax(1).tolist()
        model = copy.deepcopy(self.model).eval()
        for p in model.parameters():
            p.requires_grad_(True)
        with GradCAM(model=model, target_layers=[model.layer4]) as cam:
            theirs = cam(input_tensor=moved.clone(), targets=[ClassifierOutputTarget(c) for c in classes])
        block = self.stitched[:, :, 0::STEPS, 2::STEPS].numpy()
        correlations = [pearsonr(scale_cam_image(block[i, c][None], (size, size))[0].ravel(),
                                 theirs[i].ravel()).statistic for i, c in enumerate(classes)]
        self.assertGreaterEqual(min(correlations), 0.99, correlations)

    def test_the_averaged_map_is_as_fine_and_smoother(self):
        averaged = Eager(copy.deepcopy(self.model), explanation="shift-and-average").run(self.batch)[1]
        self.assertEqual(averaged.shape, self.stitched.shape)

        def roughness(maps):
            return float((maps.diff(dim=-1).abs().mean() / maps.mean()).item())

        self.assertLess(roughness(averaged), roughness(self.stitched))

    def test_a_traced_engine_draws_the_same_maps(self):
        traced = TorchScript(copy.deepcopy(self.model), self.batch.shape[-1], explanation="shift-and-stitch")
        np.testing.assert_allclose(traced.run(self.batch)[1].numpy(), self.stitched.numpy(), rtol=1e-3, atol=1e-5)

"""Training's batch pipeline (issue 3): the same inputs on any device as the app builds one slice at a time."""

import numpy as np
import torch
from django.test import SimpleTestCase

from assessments.ml import training
from assessments.ml.preprocess import DEFAULT_PREPROCESSING, normalise, to_square

from .base import drawn_brain_slice


def squares(n=4, size=64):
    out = []
    for i in range(n):
        square, _ = to_square(drawn_brain_slice(seed=i), size, DEFAULT_PREPROCESSING)
        out.append(np.clip(np.rint(square), 0, 255).astype(np.uint8))
    return torch.from_numpy(np.stack(out))


class BatchPipelineTests(SimpleTestCase):
    def test_a_batch_is_normalised_exactly_as_the_app_normalises_one_slice(self):
        batch = squares()
        expected = np.stack([normalise(s.numpy(), DEFAULT_PREPROCESSING, (0, 0, 0), (1, 1, 1)) for s in batch])
        np.testing.assert_allclose(training.make_batch(batch, DEFAULT_PREPROCESSING).numpy(), expected,
                                   atol=1e-4)

    def test_augmentation_with_every_range_at_zero_leaves_the_slice_alone(self):
        batch = squares().float()
        still = dict(training.DEFAULT_RECIPE, aug_flip=0, aug_rotate_deg=0, aug_scale=0, aug_shift=0,
                     aug_gamma=0)
        out = training.augment_batch(batch, np.random.default_rng(0), still)
        np.testing.assert_allclose(out.numpy(), batch.numpy(), atol=1e-2)

    def test_augmentation_moves_the_brain_but_keeps_it_in_the_frame(self):
        batch = squares(8).float()
        out = training.augment_batch(batch, np.random.default_rng(1), training.DEFAULT_RECIPE)
        self.assertGreater(float((out - batch).abs().mean()), 1.0)
        # Small shifts and rotations: the brain's area changes by well under a third.
        before, after = (batch > 25).float().mean((1, 2)), (out > 25).float().mean((1, 2))
        self.assertTrue(torch.all((after / before - 1).abs() < 0.33), (after / before).tolist())

    def test_the_flip_mirrors_left_and_right_only(self):
        batch = squares(2).float()
        flip_only = dict(training.DEFAULT_RECIPE, aug_flip=1.0, aug_rotate_deg=0, aug_scale=0, aug_shift=0,
                         aug_gamma=0)
        out = training.augment_batch(batch, np.random.default_rng(0), flip_only)
        np.testing.assert_allclose(out.numpy(), batch.flip(-1).numpy(), atol=1e-2)

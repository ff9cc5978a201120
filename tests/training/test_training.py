"""Training (issue 3): batches built on any device exactly as the app builds one slice, and augmented as planned."""

import numpy as np
import torch
from django.test import SimpleTestCase

from mri.inference.preprocess import DEFAULT_PREPROCESSING, normalise, to_square
from tests.base import drawn_brain_slice
from training import augment, training


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

    def test_slices_are_normalised_as_the_model_card_describes(self):
        # Step 4: z-scored over the pixels brighter than 0.1 x the 99th percentile; step 5: three channels.
        for square in squares().numpy().astype(np.float64):
            brain = square[square > 0.1 * np.percentile(square, 99)]
            expected = (square - brain.mean()) / brain.std()
            out = normalise(square, DEFAULT_PREPROCESSING, (0, 0, 0), (1, 1, 1))
            self.assertEqual(out.shape, (3, *square.shape))
            for channel in out:
                np.testing.assert_allclose(channel, expected, atol=1e-4)

    def test_augmentation_with_every_range_at_zero_leaves_the_slice_alone(self):
        batch = squares().float()
        still = dict(training.DEFAULT_RECIPE, aug_flip=0, aug_rotate_deg=0, aug_scale=0, aug_shift=0,
                     aug_gamma=0, aug_resolution=1, aug_blur=0, aug_bias=0)
        out = augment.augment_batch(batch, np.random.default_rng(0), still)
        np.testing.assert_allclose(out.numpy(), batch.numpy(), atol=1e-2)

    def test_augmentation_moves_the_brain_but_keeps_it_in_the_frame(self):
        batch = squares(8).float()
        out = augment.augment_batch(batch, np.random.default_rng(1), training.DEFAULT_RECIPE)
        self.assertGreater(float((out - batch).abs().mean()), 1.0)
        # Small shifts and rotations: the brain's area changes by well under a third.
        before, after = (batch > 25).float().mean((1, 2)), (out > 25).float().mean((1, 2))
        self.assertTrue(torch.all((after / before - 1).abs() < 0.33), (after / before).tolist())

    def test_the_flip_mirrors_left_and_right_only(self):
        batch = squares(2).float()
        flip_only = dict(training.DEFAULT_RECIPE, aug_flip=1.0, aug_rotate_deg=0, aug_scale=0, aug_shift=0,
                         aug_gamma=0, aug_resolution=1, aug_blur=0, aug_bias=0)
        out = augment.augment_batch(batch, np.random.default_rng(0), flip_only)
        np.testing.assert_allclose(out.numpy(), batch.flip(-1).numpy(), atol=1e-2)

    def test_other_pipelines_soften_the_slice_and_leave_the_background_black(self):
        batch = squares(16).float()
        pipeline_only = dict(training.DEFAULT_RECIPE, aug_resolution=2.0, aug_blur=1.0, aug_bias=0.3)
        out = augment.other_pipeline(batch.clone(), np.random.default_rng(0), pipeline_only)

        def edges(x):
            return (x[:, :, 1:] - x[:, :, :-1]).abs().mean((1, 2))

        softened = edges(out) < edges(batch) * 0.97
        self.assertGreaterEqual(int(softened.sum()), 4)  # about half get a lower resolution or a blur
        self.assertLess(int(softened.sum()), 16)  # and some stay as they are
        self.assertLess(float(out[:, :3, :3].abs().max()), 1e-3)  # a corner far from the brain stays black

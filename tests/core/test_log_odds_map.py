"""The app's map (mri.explain.log_odds): Grad-CAM of a class's calibrated log-odds, on the shift-and-average grid.

Checked against autograd on a small made-up head, against pytorch-grad-cam run the textbook way (hooks and a
backward pass) on a copy of the model whose output is the checkpoint's calibrated logits, and as what the app's
engine serves. Why this target: MODEL_CARD.md, "The heatmap"."""

import copy

import torch
from django.test import SimpleTestCase
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.image import scale_cam_image
from scipy.stats import pearsonr

from mri.explain import method_for
from mri.explain.log_odds import LogOddsShiftAndAverage
from mri.inference.engine import explanation_for
from mri.inference.engines import Eager
from tests.slices import model_engine_and_batch

SLICES = 6


class Calibrated(torch.nn.Module):
    """The network with the checkpoint's calibration on top: its output is what the app turns into probabilities."""

    def __init__(self, net, calibration):
        super().__init__()
        self.net = net
        self.scale = torch.tensor(calibration["scale"], dtype=torch.float32)
        self.bias = torch.tensor(calibration["bias"], dtype=torch.float32)

    def forward(self, batch):
        return self.net(batch) * self.scale + self.bias


class LogOdds:
    """A pytorch-grad-cam target: log(p / (1 - p)) of one class's softmax probability, written as
    z_c - logsumexp of the others so that a sure prediction does not make it infinite."""

    def __init__(self, category):
        self.category = category

    def __call__(self, model_output):
        others = torch.cat([model_output[:self.category], model_output[self.category + 1:]])
        return model_output[self.category] - torch.logsumexp(others, dim=0)


class LogOddsWeightsTests(SimpleTestCase):
    def test_its_weights_are_the_gradient_of_the_calibrated_log_odds_spread_over_the_grid(self):
        torch.manual_seed(5)
        fc = torch.nn.Linear(6, 4)
        calibration = {"scale": [1.3, 0.7, 0.9, 0.2], "bias": [0.4, 0.7, 0.4, -1.6]}
        activation = torch.rand(2, 6, 3, 3)
        weights = LogOddsShiftAndAverage(calibration).cam_weights(activation, fc)
        features = activation.mean(dim=(2, 3)).requires_grad_(True)
        scale, bias = torch.tensor(calibration["scale"]), torch.tensor(calibration["bias"])
        for c in range(4):
            log_p = torch.log_softmax(fc(features) * scale + bias, dim=-1)[:, c]
            log_odds = log_p - torch.log1p(-log_p.exp())
            gradient, = torch.autograd.grad(log_odds.sum(), features)
            torch.testing.assert_close(weights[:, c] * 9, gradient, rtol=1e-4, atol=1e-6)


    def test_a_sure_prediction_still_gets_its_contrast_with_the_next_likeliest_class(self):
        fc = torch.nn.Linear(2, 3)
        with torch.no_grad():
            fc.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]))
            fc.bias.copy_(torch.tensor([60.0, 0.0, -60.0]))  # class 0's probability rounds to 1 in float32
        activation = torch.ones(1, 2, 1, 1)
        weights = LogOddsShiftAndAverage().cam_weights(activation, fc)
        # Against class 1 (class 2 is e^-60 as likely): W_0 - W_1.
        torch.testing.assert_close(weights[0, 0], torch.tensor([1.0, -1.0]))


class LogOddsMapTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model, cls.checkpoint, cls.engine, cls.batch = model_engine_and_batch(SLICES)

    def test_it_agrees_with_pytorch_grad_cam_of_the_calibrated_log_odds_on_layer4(self):
        method = explanation_for(self.checkpoint)
        with torch.inference_mode():
            ours = method(self.engine.layer4(self.batch), self.model.fc).numpy()  # the unshifted 3 x 3 maps
        classes = self.engine.calibrated(self.engine.model(self.batch)).argmax(1).tolist()
        wrapped = Calibrated(copy.deepcopy(self.model).eval(), self.engine.calibration)
        for p in wrapped.parameters():
            p.requires_grad_(True)
        with GradCAM(model=wrapped, target_layers=[wrapped.net.layer4]) as cam:
            theirs = cam(input_tensor=self.batch.clone(), targets=[LogOdds(c) for c in classes])
        size = self.batch.shape[-1]
        correlations = [pearsonr(scale_cam_image(ours[i, c][None], (size, size))[0].ravel(), theirs[i].ravel()).statistic
                        for i, c in enumerate(classes)]
        self.assertGreaterEqual(min(correlations), 0.99, correlations)

    def test_the_engine_draws_it_with_the_checkpoints_calibration(self):
        served = self.engine.run(self.batch)[1]
        calibrated = Eager(copy.deepcopy(self.model), explanation=method_for(None, self.engine.calibration))
        uncalibrated = Eager(copy.deepcopy(self.model), explanation="log-odds-shift-and-average")
        self.assertEqual(tuple(served.shape), (SLICES, len(self.engine.classes), 9, 9))
        torch.testing.assert_close(served, calibrated.run(self.batch)[1], rtol=0, atol=0)
        self.assertGreater(float((served - uncalibrated.run(self.batch)[1]).abs().max()), 1e-3)

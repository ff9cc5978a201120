"""The maps the map study tried beside the app's (training.map_target_study): Grad-CAM++ and LayerCAM of the
calibrated log-odds, in closed form, checked against pytorch-grad-cam run the textbook way (hooks and a backward
pass) on the network with the checkpoint's calibration on top. Their deletion scores: MODEL_CARD.md, "The heatmap"."""

import copy

import numpy as np
import pytorch_grad_cam
import torch
from django.test import SimpleTestCase
from pytorch_grad_cam.utils.image import scale_cam_image
from scipy.stats import pearsonr

from tests.core.test_log_odds_map import Calibrated, LogOdds
from tests.slices import model_engine_and_batch
from training.map_target_study import GradCAMPlusPlus, LayerCAM

SLICES = 4


class TriedMapsTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model, _, cls.engine, cls.batch = model_engine_and_batch(SLICES)
        cls.classes = cls.engine.calibrated(cls.engine.model(cls.batch)).argmax(1).tolist()

    def correlations_with(self, ours_class, theirs_class):
        method = ours_class(self.engine.calibration)
        with torch.inference_mode():
            ours = method(self.engine.layer4(self.batch), self.model.fc).numpy()  # the unshifted 3 x 3 maps
        wrapped = Calibrated(copy.deepcopy(self.model).eval(), self.engine.calibration)
        for p in wrapped.parameters():
            p.requires_grad_(True)
        with theirs_class(model=wrapped, target_layers=[wrapped.net.layer4]) as cam:
            theirs = cam(input_tensor=self.batch.clone(), targets=[LogOdds(c) for c in self.classes])
        size = self.batch.shape[-1]
        return [pearsonr(scale_cam_image(ours[i, c][None], (size, size))[0].ravel(), theirs[i].ravel()).statistic
                for i, c in enumerate(self.classes)]

    def test_grad_cam_plus_plus_in_closed_form_agrees_with_pytorch_grad_cam(self):
        correlations = self.correlations_with(GradCAMPlusPlus, pytorch_grad_cam.GradCAMPlusPlus)
        self.assertGreaterEqual(np.min(correlations), 0.99, correlations)

    def test_layer_cam_in_closed_form_agrees_with_pytorch_grad_cam(self):
        correlations = self.correlations_with(LayerCAM, pytorch_grad_cam.LayerCAM)
        self.assertGreaterEqual(np.min(correlations), 0.99, correlations)

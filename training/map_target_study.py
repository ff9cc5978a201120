"""Which score should the map explain? Grad-CAM's target, judged by the app's own deletion test.

    python -m training.map_target_study --data ../shared/data/alzheimer-mri [--choice | --skip-positions 2,9,15,16,22,23]
        [--targets logit,calibrated-log-odds] [--json FILE]

Grad-CAM may explain any score of the network (pytorch-grad-cam's ``targets``). On the slices
:mod:`training.heatmap_study` uses (people the shipped model never trained on), every target's Grad-CAM is drawn
on the app's 9 x 9 shift-and-average grid, and scored by the app's deletion test (:mod:`mri.explain.faithfulness`,
on the brain and its rim as the app draws the map), which measures the fall of the calibrated probability the app
reports. Per target: the median score, the share of slices above 1x, that share per predicted class, and its
paired difference from the raw logit's map (plain Grad-CAM) with a 95% bootstrap interval over people.
"""

import os

import numpy as np
import torch
import torchvision.transforms.functional as TF

from mri.explain.faithfulness import BLUR, faithfulness
from mri.explain.log_odds import LogOddsShiftAndAverage
from mri.explain.shift_and_stitch import ShiftAndAverage, shifted
from mri.inference.checkpoint import load_checkpoint, recorded_split
from mri.inference.engine import Engine
from mri.inference.engines import ClosedForm

from .data import read_gray
from .heatmap_study import report, slice_arguments, study_rows

# target -> a map of it on the app's grid, given the checkpoint's calibration. "logit" is plain Grad-CAM; the
# calibrated log-odds is the app's own map.
TARGETS = {
    "logit": lambda calibration: ShiftAndAverage(),
    "probability": lambda calibration: SoftmaxMap("probability"),
    "log-odds": lambda calibration: LogOddsShiftAndAverage(),
    "calibrated-probability": lambda calibration: SoftmaxMap("probability", calibration),
    "calibrated-log-probability": lambda calibration: SoftmaxMap("log-probability", calibration),
    "calibrated-log-odds": lambda calibration: LogOddsShiftAndAverage(calibration),
    "calibrated-log-odds-against-blur": lambda calibration: AgainstBlur(calibration),
    "calibrated-log-odds-plus-against-blur": lambda calibration: PlusAgainstBlur(calibration),
    "calibrated-log-odds-grad-cam-plus-plus": lambda calibration: GradCAMPlusPlus(calibration),
    "calibrated-log-odds-layer-cam": lambda calibration: LayerCAM(calibration),
    "calibrated-log-odds-without-relu": lambda calibration: WithoutReLU(calibration),
}
DRAWS = 2000


def log_probability_gradient(p, weights):
    """The gradient of ``log p_c`` for every class, (B, C, K): ``W_c - sum_j p_j W_j``, for probabilities ``p``
    (B, C) of a softmax over ``features @ weights.T`` (weights (C, K))."""
    return weights[None] - (p @ weights)[:, None]


class SoftmaxMap(ShiftAndAverage):
    """Grad-CAM of a (calibrated or raw) softmax probability, or of its log, on the shift-and-average grid."""

    def __init__(self, kind, calibration=None):
        super().__init__(calibration)
        self.kind = kind

    def cam_weights(self, activation, fc):
        h, w = activation.shape[-2:]
        p = self.probabilities(activation, fc)
        gradient = log_probability_gradient(p, self.scale_and_bias(fc)[0][:, None] * fc.weight)
        return (p[:, :, None] if self.kind == "probability" else 1) * gradient / (h * w)


class AgainstBlur(LogOddsShiftAndAverage):
    """The calibrated log-odds' Grad-CAM weights on the activation minus that of the scan blurred as the deletion
    test blurs it: a first-order estimate of what blurring each place does to the log-odds. Tried, not shipped
    (MODEL_CARD.md, "The heatmap"): it costs nine more ``layer4`` passes and did not hold on the unused slices."""

    def shifted_maps(self, layer4, batch, moves, fc):
        moved, blurred = self.moved_and_blurred(layer4, batch, moves)
        return self.cam_image(moved - blurred, self.cam_weights(moved, fc))

    @staticmethod
    def moved_and_blurred(layer4, batch, moves):
        """``layer4`` of the moved inputs and of the same inputs blurred as the deletion test blurs, in one pass."""
        side = batch.shape[-1]
        kernel = 2 * round(4 * side * BLUR) + 1  # OpenCV's size for this sigma, as the deletion test blurs
        reference = TF.gaussian_blur(batch, [kernel, kernel], [side * BLUR, side * BLUR])
        return layer4(torch.cat([shifted(batch, moves), shifted(reference, moves)])).chunk(2)


class PlusAgainstBlur(AgainstBlur):
    """The shipped map plus :class:`AgainstBlur`'s: the evidence for the class and the evidence a blur takes away,
    summed (each ReLU'd; the averaging on the fine grid is linear, so summing before it is the same). Tried, not
    shipped (MODEL_CARD.md, "The heatmap"): +0.8 to +1.6 points on every slice set, short of 80% on each, for
    nine more ``layer4`` passes."""

    def shifted_maps(self, layer4, batch, moves, fc):
        moved, blurred = self.moved_and_blurred(layer4, batch, moves)
        weights = self.cam_weights(moved, fc)
        return self.cam_image(moved, weights) + self.cam_image(moved - blurred, weights)


class GradCAMPlusPlus(LogOddsShiftAndAverage):
    """Grad-CAM++ (Chattopadhay et al., 2018) of the calibrated log-odds, as pytorch-grad-cam computes it: a
    channel's weight is ``sum_ij ReLU(g) g^2 / (2 g^2 + g^3 sum_ab A)``; the gradient ``g`` is the same at every
    position of ``layer4`` here, so it is ``h w ReLU(g) / (2 + g sum_ab A)``. Tried, not shipped (MODEL_CARD.md)."""

    def cam_weights(self, activation, fc):
        rising = torch.relu(super().cam_weights(activation, fc))  # (B, C, K); 0 where g <= 0, as in the formula
        h, w = activation.shape[-2:]
        total = activation.sum(dim=(2, 3))[:, None, :]
        return h * w * rising / (2 + total * rising)


class LayerCAM(LogOddsShiftAndAverage):
    """LayerCAM (Jiang et al., 2021) of the calibrated log-odds: ``ReLU(sum_k ReLU(g_k) A_k)``; with the gradient
    the same at every position, Grad-CAM with the channels that count against the class left out. Tried, not
    shipped (MODEL_CARD.md)."""

    def cam_weights(self, activation, fc):
        return torch.relu(super().cam_weights(activation, fc))


class WithoutReLU(LogOddsShiftAndAverage):
    """The shipped map before its ReLU: where the evidence against the class outweighs the evidence for it, the
    hottest region is still ranked (least against first) instead of being tied at 0. Tried, not shipped."""

    def cam_image(self, activation, weights):
        return torch.einsum("bck,bkhw->bchw", weights, activation)


def methods_for(names, engine):
    return {name: TARGETS[name](engine.calibration) for name in names}


def scores_of(engine, net, methods, gray):
    """``{target: deletion score}`` of one slice's predicted class, and that class (``net``: the engine's
    model as a :class:`ClosedForm`, for its ``layer4``)."""
    analysis = engine.analyse(gray)
    index, batch = analysis.predicted_index, analysis.tensor[None]
    out = {}
    with torch.inference_mode():
        activation = net.layer4(batch)
        for name, method in methods.items():
            cam = method.maps(net.layer4, batch, activation, engine.model.fc)[0, index].numpy()
            scored = faithfulness(engine.probabilities, analysis.tensor, cam, index,
                                  analysis.probabilities[index], inside=analysis.input_brain)
            out[name] = scored.score if scored else float("nan")
    return out, index


def share_interval(above, reference, people, seed=0):
    """95% bootstrap interval (people drawn whole) of the difference in share above 1x from ``reference``."""
    rng = np.random.default_rng(seed)
    names = sorted(set(people))
    rows = {p: np.flatnonzero(np.asarray(people) == p) for p in names}
    draws = []
    for _ in range(DRAWS):
        picked = np.concatenate([rows[p] for p in rng.choice(names, len(names))])
        draws.append(above[picked].mean() - reference[picked].mean())
    return [float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))]


def summarise(results, classes, people, names):
    reference = np.array([r["logit"] for r in results]) > 1
    out = {}
    for name in names:
        scores = np.array([r[name] for r in results])
        above = scores > 1
        out[name] = {"median": float(np.nanmedian(scores)), "share_above_1": float(above.mean()),
                     "by_predicted_class": {str(c): [int((classes == c).sum()), float(above[classes == c].mean())]
                                            for c in np.unique(classes)},
                     "minus_logit": float(above.mean() - reference.mean()),
                     "minus_logit_interval": share_interval(above, reference, people)}
    return out


def main(argv=None):
    parser = slice_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--targets", default=",".join(TARGETS))
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    model, checkpoint = load_checkpoint(args.model)
    engine = Engine(model, checkpoint)
    names = ["logit"] + [n for n in args.targets.split(",") if n and n != "logit"]
    methods = methods_for(names, engine)
    _, people = recorded_split(dict(checkpoint.get("metadata") or {}))
    rows = study_rows(args, people)
    net = ClosedForm(engine.model)
    scored = [scores_of(engine, net, methods, read_gray(r["path"])) for r in rows]
    results, classes = [s for s, _ in scored], np.array([c for _, c in scored])
    out = {"people": len(people), "slices": len(rows), "load_average": list(os.getloadavg()),
           "targets": summarise(results, classes, [r["subject"] for r in rows], names)}
    report(out, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

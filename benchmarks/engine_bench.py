"""Engines side by side: their fidelity to eager float32, and paired timing in one process.

The gate an engine must pass to be served, per set of slices, against eager
float32 on the same prepared inputs: top-1 agreement >= 99%, mean absolute
difference of the calibrated probabilities <= 1 percentage point, and the
predicted class's Grad-CAM map correlated with eager's at Pearson r >= 0.99 on
every slice (the minimum is gated; the mean is reported).
"""

import copy
import random
import statistics
import time

import numpy as np
import torch

from mri.inference import engine_choice
from mri.inference.engine import Engine, explanation_for
from mri.inference.engines import EAGER, Unavailable

GATE = {"top1_agreement": 0.99, "mean_abs_probability_difference": 0.01, "map_r_min": 0.99}


def engines_for(model, checkpoint, checkpoint_path, names=None):
    """``({name: Engine}, {name: why unavailable})``, each engine on its own copy of the weights (every
    registered engine unless ``names``)."""
    built, unavailable = {}, {}
    for name in names or engine_choice.names():
        try:
            own = copy.deepcopy(model)
            backend = engine_choice.build(name, own, checkpoint_path, int(checkpoint["input_size"]),
                                          explanation_for(checkpoint))
            built[name] = Engine(own, checkpoint, backend)
        except Unavailable as exc:
            unavailable[name] = str(exc)
    return built, unavailable


def outputs(engine, batches):
    """Calibrated probabilities (N,C) and maps (N,C,h,w) of ``engine`` over prepared ``batches``."""
    probabilities, maps = [], []
    for batch in batches:
        logits, m, _ = engine.run(batch)
        probabilities.append(engine.calibrated(logits).numpy().astype(np.float64))
        maps.append(m.numpy().astype(np.float64))
    return np.concatenate(probabilities), np.concatenate(maps)


def map_correlation(a, b):
    """Pearson r of two maps; two flat maps that are equal agree perfectly, a flat against a varied one not at all."""
    a, b = a.ravel(), b.ravel()
    if a.std() == 0 or b.std() == 0:
        return 1.0 if np.allclose(a, b) else 0.0
    return float(np.corrcoef(a, b)[0, 1])


def fidelity(reference, candidate):
    """How faithful ``candidate`` is to ``reference``: figures of ``candidate`` (probabilities, maps) against ``reference``'s, on the reference's predicted class."""
    ref_p, ref_m = reference
    got_p, got_m = candidate
    predicted = ref_p.argmax(axis=1)
    rows = np.arange(len(predicted))
    r = [map_correlation(ref_m[i, c], got_m[i, c]) for i, c in zip(rows, predicted)]
    difference = np.abs(got_p - ref_p)
    return {
        "slices": int(len(predicted)),
        "top1_agreement": float(np.mean(got_p.argmax(axis=1) == predicted)),
        "mean_abs_probability_difference": float(difference.mean()),
        "max_abs_probability_difference": float(difference.max()),
        "map_r_min": float(np.min(r)),
        "map_r_mean": float(np.mean(r)),
    }


def passes(figures):
    return (figures["top1_agreement"] >= GATE["top1_agreement"]
            and figures["mean_abs_probability_difference"] <= GATE["mean_abs_probability_difference"]
            and figures["map_r_min"] >= GATE["map_r_min"])


def gate(engines, slice_sets, batch_size=32):
    """``{name: {set name: figures}}`` for every engine against EAGER, on each set of gray slices."""
    reference = engines[EAGER]
    result = {name: {} for name in engines}
    for set_name, grays in slice_sets.items():
        tensors = [reference.prepare(g)[0] for g in grays]
        batches = [torch.stack(tensors[i:i + batch_size]) for i in range(0, len(tensors), batch_size)]
        expected = outputs(reference, batches)
        for name, engine in engines.items():
            result[name][set_name] = fidelity(expected, outputs(engine, batches))
    return result


def timed(methods, warmup, repeat, now=time.perf_counter):
    """``{name: [ms, ...]}``: each repeat runs every method once, in a shuffled order, so load hits all alike."""
    times = {name: [] for name in methods}
    order = list(methods)
    shuffler = random.Random(0)
    for run in range(warmup + repeat):
        shuffler.shuffle(order)
        for name in order:
            start = now()
            methods[name]()
            elapsed = now() - start
            if run >= warmup:
                times[name].append(elapsed * 1000)
    return times


def timings(engines, x, warmup=5, repeat=60, now=time.perf_counter):
    """``{name: (median ms, median of per-repeat ratios to EAGER)}`` for one batch ``x`` through each engine."""
    times = timed({name: (lambda e=engine: e.run(x)) for name, engine in engines.items()}, warmup, repeat, now)
    return {name: (statistics.median(values), statistics.median(t / e for t, e in zip(values, times[EAGER])))
            for name, values in times.items()}

"""Which engine a process serves: the fastest that passed the agreement gate and can run here.

The gate report (``models/<name>/engines.json``, written by ``benchmarks/engine_agreement.py``)
says, for one checkpoint's SHA-256, which engines agree with eager float32 on
held-out slices and how fast each ran. The process serves the fastest passed
engine that builds on this CPU with what is installed; ``ALZAWARE_ENGINE`` overrides.
"""

import json
import logging
import os
from pathlib import Path

from mri.inference import onnx_model
from mri.inference.engines import EAGER, BFloat16, Eager, TorchScript, Unavailable

log = logging.getLogger(__name__)

# In the order the benchmark lists them; EAGER (float32, channels_last) is the reference every other is gated on.
NAMES = (EAGER, "eager-contiguous", "torchscript", "bf16", "onnx", "onnx-int8")
ENGINE_ENV = "ALZAWARE_ENGINE"


def build(name, model, checkpoint_path, input_size):
    """The backend ``name`` for ``model`` (the checkpoint at ``checkpoint_path``), or :class:`Unavailable`.

    The torch backends set ``model``'s memory layout in place: give each its own copy when building several."""
    if name == EAGER:
        return Eager(model)
    if name == "eager-contiguous":
        return Eager(model, name, channels_last=False)
    if name == "bf16":
        return BFloat16(model)
    if name == "torchscript":
        return TorchScript(model, input_size)
    if name in ("onnx", "onnx-int8"):
        return onnx_model.OnnxRuntime(name, onnx_model.path_for(checkpoint_path, name), checkpoint_path)
    raise ValueError(f"unknown engine {name!r}; {ENGINE_ENV} must be one of: {', '.join(NAMES)}")


def report_path(checkpoint_path):
    """Where the gate report of a checkpoint lives: ``models/<name>/engines.json`` beside ``models/<name>.pt``."""
    path = Path(checkpoint_path)
    return path.with_suffix("") / "engines.json"


def passed_fastest_first(checkpoint_path, sha256):
    """Names of the engines that passed the agreement gate for this very checkpoint, fastest first."""
    try:
        report = json.loads(report_path(checkpoint_path).read_text())
    except (OSError, ValueError):
        return []
    if report.get("checkpoint_sha256") != sha256:
        return []  # measured on another checkpoint: nothing is known to agree for this one
    return passed_fastest_first_of(report)


def passed_fastest_first_of(report):
    passed = [row for row in report.get("engines", []) if row.get("passed")]
    return [row["name"] for row in sorted(passed, key=lambda row: row["median_ms"])]


def choose(model, checkpoint_path, sha256, input_size, requested=None):
    """``(backend, why)``: the engine to serve. ``requested`` (``ALZAWARE_ENGINE``) wins where it can run;
    otherwise the fastest that passed the gate and can run here; eager float32 when none can."""
    requested = requested if requested is not None else os.environ.get(ENGINE_ENV, "")
    if requested:
        try:
            return build(requested, model, checkpoint_path, input_size), f"{ENGINE_ENV}={requested}"
        except Unavailable as exc:
            log.warning("%s=%s cannot run here (%s); serving %s instead", ENGINE_ENV, requested, exc, EAGER)
            return Eager(model), f"{ENGINE_ENV}={requested} unavailable: {exc}"
    skipped = []
    for name in passed_fastest_first(checkpoint_path, sha256):
        try:
            return build(name, model, checkpoint_path, input_size), _why(name, skipped)
        except Unavailable as exc:
            skipped.append(f"{name}: {exc}")
    return Eager(model), _why(EAGER, skipped) if skipped else "no engine gated for this checkpoint"


def _why(name, skipped):
    reason = f"fastest that passed the agreement gate ({name})"
    return reason + ("; skipped " + "; ".join(skipped) if skipped else "")

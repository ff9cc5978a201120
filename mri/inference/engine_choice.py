"""Which engine a process serves: the fastest that passed the engine gate and can run here.

The engines are registered here by name (:data:`ENGINES`). The gate report (``models/<name>/engines.json``,
written by ``benchmarks/engine_gate.py``) says, for one checkpoint's SHA-256, which engines are faithful to
eager float32 on held-out slices (their fidelity) and how fast each ran. The process serves the fastest passed
engine that builds on this CPU with what is installed; ``ALZAWARE_ENGINE`` overrides.
"""

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torchvision.models import ResNet

from mri.explain.method import Explanation
from mri.inference import onnx_model
from mri.inference.checkpoint import PathLike
from mri.inference.engines import EAGER, Backend, BFloat16, Eager, TorchScript, Unavailable

log = logging.getLogger(__name__)

ENGINE_ENV = "ALZAWARE_ENGINE"

# name -> builder(model, checkpoint_path, input_size, explanation) -> a backend (its ``run(batch)`` gives logits,
# maps by the explanation method (a name, an instance made for the checkpoint, or None for the default),
# features), or raises Unavailable. In the order the gate benchmark lists them; EAGER (float32, channels_last)
# is the reference every other is gated on. A new engine is a backend class and one ``register`` call.
Builder = Callable[[ResNet, PathLike, int, Explanation], Backend]
ENGINES: dict[str, Builder] = {}


def register(name: str, builder: Builder) -> Builder:
    """Make the engine ``name`` buildable (and so measurable by the gate, and servable once it passes)."""
    ENGINES[name] = builder
    return builder


def unregister(name: str) -> None:
    ENGINES.pop(name, None)


def names() -> tuple[str, ...]:
    return tuple(ENGINES)


def onnx_runtime(name: str) -> Builder:
    def builder(model: ResNet, checkpoint_path: PathLike, input_size: int,
                explanation: Explanation = None) -> Backend:
        return onnx_model.OnnxRuntime(name, onnx_model.path_for(checkpoint_path, name), checkpoint_path,
                                      explanation)

    return builder


def eager(model: ResNet, path: PathLike, size: int, explanation: Explanation = None) -> Backend:
    return Eager(model, explanation=explanation)


def eager_contiguous(model: ResNet, path: PathLike, size: int, explanation: Explanation = None) -> Backend:
    return Eager(model, "eager-contiguous", channels_last=False, explanation=explanation)


def torchscript(model: ResNet, path: PathLike, size: int, explanation: Explanation = None) -> Backend:
    return TorchScript(model, size, explanation)


def bf16(model: ResNet, path: PathLike, size: int, explanation: Explanation = None) -> Backend:
    return BFloat16(model, explanation)


register(EAGER, eager)
register("eager-contiguous", eager_contiguous)
register("torchscript", torchscript)
register("bf16", bf16)
register("onnx", onnx_runtime("onnx"))
register("onnx-int8", onnx_runtime("onnx-int8"))


def build(name: str, model: ResNet, checkpoint_path: PathLike, input_size: int,
          explanation: Explanation = None) -> Backend:
    """The backend ``name`` for ``model`` (the checkpoint at ``checkpoint_path``), or :class:`Unavailable`;
    its maps by the ``explanation`` method (``mri.explain``; its ``DEFAULT`` unless named).

    The torch backends set ``model``'s memory layout in place: give each its own copy when building several."""
    builder = ENGINES.get(name)
    if builder is None:
        raise ValueError(f"unknown engine {name!r}; {ENGINE_ENV} must be one of: {', '.join(ENGINES)}")
    return builder(model, checkpoint_path, input_size, explanation)


def report_path(checkpoint_path: PathLike) -> Path:
    """Where the gate report of a checkpoint lives: ``models/<name>/engines.json`` beside ``models/<name>.pt``."""
    path = Path(checkpoint_path)
    return path.with_suffix("") / "engines.json"


def passed_fastest_first(checkpoint_path: PathLike, sha256: str) -> list[str]:
    """Names of the engines that passed the engine gate for this very checkpoint, fastest first."""
    try:
        report = json.loads(report_path(checkpoint_path).read_text())
    except (OSError, ValueError):
        return []
    if report.get("checkpoint_sha256") != sha256:
        return []  # measured on another checkpoint: nothing is known to agree for this one
    return passed_fastest_first_of(report)


def passed_fastest_first_of(report: dict[str, Any]) -> list[str]:
    passed = [row for row in report.get("engines", []) if row.get("passed")]
    return [row["name"] for row in sorted(passed, key=lambda row: row["median_ms"])]


def choose(model: ResNet, checkpoint_path: PathLike, sha256: str, input_size: int,
           requested: str | None = None, explanation: Explanation = None) -> tuple[Backend, str]:
    """``(backend, why)``: the engine to serve, its maps by ``explanation``. ``requested`` (``ALZAWARE_ENGINE``)
    wins where it can run; otherwise the fastest that passed the gate and can run here; eager float32 when none
    can."""
    requested = requested if requested is not None else os.environ.get(ENGINE_ENV, "")
    if requested:
        try:
            return build(requested, model, checkpoint_path, input_size, explanation), f"{ENGINE_ENV}={requested}"
        except Unavailable as exc:
            log.warning("%s=%s cannot run here (%s); serving %s instead", ENGINE_ENV, requested, exc, EAGER)
            return Eager(model, explanation=explanation), f"{ENGINE_ENV}={requested} unavailable: {exc}"
    skipped: list[str] = []
    for name in passed_fastest_first(checkpoint_path, sha256):
        try:
            return build(name, model, checkpoint_path, input_size, explanation), _why(name, skipped)
        except Unavailable as exc:
            skipped.append(f"{name}: {exc}")
    why = _why(EAGER, skipped) if skipped else "no engine gated for this checkpoint"
    return Eager(model, explanation=explanation), why


def _why(name: str, skipped: list[str]) -> str:
    reason = f"fastest that passed the engine gate ({name})"
    return reason + ("; skipped " + "; ".join(skipped) if skipped else "")

"""The checkpoint exported to ONNX at build time, and served by ONNX Runtime.

``manage.py export_onnx`` (run by ``make``) writes ``models/<name>.onnx`` beside
``models/<name>.pt``: the whole :class:`.engines.ClosedForm` network, so the
exported graph gives logits, every class's Grad-CAM map and the pooled features
in one run, with no backward pass. The SHA-256 of the checkpoint it came from is
recorded inside the file (ONNX metadata ``source_sha256``), and so is the
explanation method its maps are drawn by (``explanation``; a file without it
predates the record and drew Grad-CAM). A file made from another checkpoint, or
drawing another method's maps than the one asked for, is refused as stale, and
the app serves eager PyTorch.
Exporting needs the ``onnx`` package; serving needs only ``onnxruntime``.
"""

import logging
import os
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision.models import ResNet

from mri.explain import method_for
from mri.explain.method import Explanation
from mri.inference.checkpoint import PathLike, expected_sha256
from mri.inference.engines import ClosedForm, Outputs, Unavailable

log = logging.getLogger(__name__)

SOURCE_KEY = "source_sha256"
METHOD_KEY = "explanation"
# What an export made before the method was recorded draws: the only method there was.
UNRECORDED_METHOD = "grad-cam"
SUFFIXES = {"onnx": ".onnx", "onnx-int8": ".int8.onnx"}
# The int8 model failed the engine gate (models/alzaware-resnet50/engines.md), so the build does not make it.
MADE_BY = {"onnx": "make builds it with manage.py export_onnx", "onnx-int8": "benchmarks/engine_gate.py builds it"}
OPSET = 17


def path_for(checkpoint_path: PathLike, name: str = "onnx") -> Path:
    return Path(checkpoint_path).with_suffix(SUFFIXES[name])


def recorded(path: PathLike) -> dict[str, str]:
    """The metadata recorded inside an exported file."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return dict(session.get_modelmeta().custom_metadata_map)


def recorded_source(path: PathLike) -> str:
    """The checkpoint SHA-256 recorded inside an exported file ('' if none)."""
    return recorded(path).get(SOURCE_KEY, "")


def recorded_method(path: PathLike) -> str:
    """The explanation method an exported file draws its maps by."""
    return recorded(path).get(METHOD_KEY, UNRECORDED_METHOD)


def staleness(path: Path, checkpoint_path: PathLike, explanation: Explanation = None) -> str:
    """Why the export at ``path`` cannot serve ``checkpoint_path`` with the ``explanation`` method ('' if it can)."""
    metadata = recorded(path)
    source, wanted = metadata.get(SOURCE_KEY, ""), expected_sha256(checkpoint_path)
    if source != wanted:
        return f"exported from checkpoint {source[:12] or 'unknown'}, not {wanted[:12]}"
    method, asked = metadata.get(METHOD_KEY, UNRECORDED_METHOD), method_for(explanation).name
    if method != asked:
        return f"its maps are drawn by {method}, not {asked}"
    return ""


def is_current(checkpoint_path: PathLike, name: str = "onnx", explanation: Explanation = None) -> bool:
    path = path_for(checkpoint_path, name)
    return path.exists() and not staleness(path, checkpoint_path, explanation)


def export(model: ResNet, checkpoint_path: PathLike, input_size: int, explanation: Explanation = None) -> Path:
    """Write ``<checkpoint>.onnx`` for ``model`` (loaded from ``checkpoint_path``), its maps by the
    ``explanation`` method (the default unless named), atomically; returns its path."""
    import onnx

    target = path_for(checkpoint_path)
    net = ClosedForm(model, explanation).eval()
    example = torch.zeros(1, 3, input_size, input_size)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        raw = Path(tmp) / "raw.onnx"
        with warnings.catch_warnings():
            # torch 2.14 calls the TorchScript-based exporter legacy; it still works and, unlike the new
            # torch.export one, needs no onnxscript. Measured on this network: logits within 2e-6 of eager.
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                net, (example,), str(raw), dynamo=False, opset_version=OPSET,
                input_names=["input"], output_names=["logits", "maps", "features"],
                dynamic_axes={name: {0: "batch"} for name in ("input", "logits", "maps", "features")},
            )
        graph = onnx.load(str(raw))
        onnx.helper.set_model_props(graph, {SOURCE_KEY: expected_sha256(checkpoint_path),
                                            METHOD_KEY: net.explanation.name})
        staged = Path(tmp) / target.name
        onnx.save(graph, str(staged))
        os.replace(staged, target)
    return target


def quantize_int8(checkpoint_path: PathLike, calibration_batches: Iterable[Any]) -> Path:
    """Write ``<checkpoint>.int8.onnx``: the float32 export quantised statically (QDQ, per-channel int8
    weights, uint8 activations) with ranges calibrated on ``calibration_batches`` ((B,3,S,S) arrays).

    Dynamic quantisation was measured first: ONNX Runtime runs its ConvInteger ~3x slower than float32.
    """
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    source, target = path_for(checkpoint_path), path_for(checkpoint_path, "onnx-int8")

    class Batches(CalibrationDataReader):  # type: ignore[misc]  # onnxruntime ships no types
        def __init__(self) -> None:
            self.batches = iter(calibration_batches)

        def get_next(self) -> dict[str, Any] | None:
            batch = next(self.batches, None)
            return None if batch is None else {"input": np.asarray(batch, dtype=np.float32)}

    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        prepared, staged = Path(tmp) / "prepared.onnx", Path(tmp) / target.name
        quant_pre_process(str(source), str(prepared))
        quantize_static(str(prepared), str(staged), Batches(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        graph = onnx.load(str(staged))
        onnx.helper.set_model_props(graph, {key: value for key, value in recorded(source).items()
                                            if key in (SOURCE_KEY, METHOD_KEY)})
        onnx.save(graph, str(staged))
        os.replace(staged, target)
    return target


class OnnxRuntime:
    """An ONNX Runtime session on an exported file; ``InferenceSession.run`` may be called from any thread."""

    def __init__(self, name: str, path: PathLike, checkpoint_path: PathLike, explanation: Explanation = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise Unavailable("onnxruntime is not installed") from exc
        path = Path(path)
        if not path.exists():
            raise Unavailable(f"{path.name} is missing ({MADE_BY[name]})")
        stale = staleness(path, checkpoint_path, explanation)
        if stale:
            raise Unavailable(f"{path.name} is stale: {stale}; {MADE_BY[name]} anew")
        options = ort.SessionOptions()
        # As many threads as torch uses, so the engines are compared (and served) on the same cores.
        options.intra_op_num_threads = torch.get_num_threads()
        # Spinning threads wait for the next run by busy-looping. With them, bench_explain --engines (20 runs,
        # load average ~9 on 2 cores) timed eager PyTorch in the same process at 1035 ms, without at 297 ms;
        # a server has other work for those cores too (decoding, overlays, other requests).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.name = name
        self.path = path
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(self, batch: torch.Tensor) -> Outputs:
        logits, maps, features = self.session.run(None, {"input": batch.detach().numpy().astype(np.float32)})
        return torch.from_numpy(logits), torch.from_numpy(maps), torch.from_numpy(features)

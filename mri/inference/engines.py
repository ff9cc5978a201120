"""The ways of running one checkpoint's forward pass in PyTorch (ONNX Runtime's is in :mod:`.onnx_model`).

Every backend answers ``run(batch)`` -> ``(logits, maps, features)`` as float32
torch tensors, the same three outputs :class:`ClosedForm` defines (the maps by the explanation method
asked for, ``mri.explain``), so the rest
of the app never knows which one it got. Which ones may be served is decided by
measurement, not here: see :mod:`.engine_choice`.
"""

import warnings
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F
from torchvision.models import ResNet

from mri.explain import method_for
from mri.explain.method import Explanation

EAGER = "eager"
BF16_FLAGS = {"avx512_bf16", "amx_bf16"}
# logits (B, C), maps (B, C, h, w), pooled features (B, K)
Outputs = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class Backend(Protocol):
    """What every engine is: a name and ``run(batch)`` -> :data:`Outputs`."""

    name: str

    def run(self, batch: torch.Tensor) -> Outputs: ...


class Unavailable(RuntimeError):
    """This engine cannot run here (CPU, missing package, missing or stale exported model)."""


class ClosedForm(torch.nn.Module):
    """A torchvision ResNet50 -> logits, the maps of every class, pooled ``layer4`` features.

    The head after ``layer4`` is a global average pool and one linear layer, so a
    class activation map is a weighted sum of the activation's channels, in closed
    form: the ``explanation`` method (``mri.explain``; by default the Grad-CAM of the
    calibrated log-odds on the shift-and-average grid) says with which weights. As a
    module it can be traced, frozen and exported whole, so no engine needs a backward pass.
    """

    def __init__(self, model: ResNet, explanation: Explanation = None) -> None:
        super().__init__()
        self.model = model
        self.explanation = method_for(explanation)

    def layer4(self, batch: torch.Tensor) -> torch.Tensor:
        m = self.model
        x = m.maxpool(m.relu(m.bn1(m.conv1(batch))))
        activation: torch.Tensor = m.layer4(m.layer3(m.layer2(m.layer1(x))))
        return activation

    def forward(self, batch: torch.Tensor) -> Outputs:
        m = self.model
        activation = self.layer4(batch)
        features = activation.mean(dim=(2, 3))
        logits = F.linear(features, m.fc.weight, m.fc.bias)
        return logits, self.explanation.maps(self.layer4, batch, activation, m.fc), features


class Eager:
    def __init__(self, model: ResNet, name: str = EAGER, channels_last: bool = True,
                 explanation: Explanation = None) -> None:
        self.name = name
        self.layout = torch.channels_last if channels_last else torch.contiguous_format
        # channels_last: oneDNN's convolutions are faster in this layout on the CPU (bench_explain --engines).
        self.net = ClosedForm(model.to(memory_format=self.layout), explanation).eval()

    def run(self, batch: torch.Tensor) -> Outputs:
        with torch.inference_mode():
            outputs: Outputs = self.net(batch.contiguous(memory_format=self.layout))
        return outputs


class BFloat16(Eager):
    """Eager with CPU autocast to bfloat16; outputs back in float32."""

    def __init__(self, model: ResNet, explanation: Explanation = None) -> None:
        missing = BF16_FLAGS.isdisjoint(cpu_flags())
        if missing:
            raise Unavailable(f"this CPU has none of {sorted(BF16_FLAGS)}: bfloat16 would be emulated, slower")
        super().__init__(model, "bf16", explanation=explanation)

    def run(self, batch: torch.Tensor) -> Outputs:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            logits, maps, features = self.net(batch.contiguous(memory_format=self.layout))
        return logits.float(), maps.float(), features.float()


class TorchScript:
    """The network traced at the checkpoint's input size and frozen (weights folded in as constants)."""

    name = "torchscript"

    def __init__(self, model: ResNet, input_size: int, explanation: Explanation = None) -> None:
        net = ClosedForm(model.to(memory_format=torch.channels_last), explanation).eval()
        example = torch.zeros(1, 3, input_size, input_size).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), warnings.catch_warnings():
            # torch 2.14 calls torch.jit deprecated; it still traces and freezes, and it is measured here as
            # one candidate among others, not served unless it wins the gate.
            warnings.simplefilter("ignore", FutureWarning)
            self.net = torch.jit.freeze(torch.jit.trace(net, example, check_trace=False))

    def run(self, batch: torch.Tensor) -> Outputs:
        with torch.inference_mode():
            outputs: Outputs = self.net(batch.contiguous(memory_format=torch.channels_last))
        return outputs


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux lists them (empty where /proc/cpuinfo is not there)."""
    flags: frozenset[str] = _cpu_flags(Path("/proc/cpuinfo"))
    return flags


@lru_cache(maxsize=1)
def _cpu_flags(cpuinfo: Path) -> frozenset[str]:
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return frozenset(line.partition(":")[2].split())

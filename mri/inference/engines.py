"""The ways of running one checkpoint's forward pass in PyTorch (ONNX Runtime's is in :mod:`.onnx_model`).

Every backend answers ``run(batch)`` -> ``(logits, maps, features)`` as float32
torch tensors, the same three outputs :class:`ClosedForm` defines, so the rest
of the app never knows which one it got. Which ones may be served is decided by
measurement, not here: see :mod:`.engine_choice`.
"""

import warnings
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F

EAGER = "eager"
BF16_FLAGS = {"avx512_bf16", "amx_bf16"}


class Unavailable(RuntimeError):
    """This engine cannot run here (CPU, missing package, missing or stale exported model)."""


class ClosedForm(torch.nn.Module):
    """A torchvision ResNet50 -> logits, the Grad-CAM maps of every class, pooled ``layer4`` features.

    The head after ``layer4`` is a global average pool and one linear layer, so
    class ``c``'s Grad-CAM is ``ReLU(sum_k W[c, k] A_k) / (H * W)`` exactly (see
    :mod:`.engine`): a 1x1 convolution of the activation with ``fc``'s weights.
    As a module it can be traced, frozen and exported whole, so no engine needs a
    backward pass.
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def layer4(self, batch):
        m = self.model
        x = m.maxpool(m.relu(m.bn1(m.conv1(batch))))
        return m.layer4(m.layer3(m.layer2(m.layer1(x))))

    def forward(self, batch):
        m = self.model
        activation = self.layer4(batch)
        features = activation.mean(dim=(2, 3))
        logits = F.linear(features, m.fc.weight, m.fc.bias)
        h, w = activation.shape[-2:]
        maps = torch.relu(F.conv2d(activation, m.fc.weight[:, :, None, None])) / (h * w)
        return logits, maps, features


class Eager:
    def __init__(self, model, name=EAGER, channels_last=True):
        self.name = name
        self.layout = torch.channels_last if channels_last else torch.contiguous_format
        # channels_last: oneDNN's convolutions are faster in this layout on the CPU (bench_explain --engines).
        self.net = ClosedForm(model.to(memory_format=self.layout)).eval()

    def run(self, batch):
        with torch.inference_mode():
            return self.net(batch.contiguous(memory_format=self.layout))


class BFloat16(Eager):
    """Eager with CPU autocast to bfloat16; outputs back in float32."""

    def __init__(self, model):
        missing = BF16_FLAGS.isdisjoint(cpu_flags())
        if missing:
            raise Unavailable(f"this CPU has none of {sorted(BF16_FLAGS)}: bfloat16 would be emulated, slower")
        super().__init__(model, "bf16")

    def run(self, batch):
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            outputs = self.net(batch.contiguous(memory_format=self.layout))
        return tuple(o.float() for o in outputs)


class TorchScript:
    """The network traced at the checkpoint's input size and frozen (weights folded in as constants)."""

    name = "torchscript"

    def __init__(self, model, input_size):
        net = ClosedForm(model.to(memory_format=torch.channels_last)).eval()
        example = torch.zeros(1, 3, input_size, input_size).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), warnings.catch_warnings():
            # torch 2.14 calls torch.jit deprecated; it still traces and freezes, and it is measured here as
            # one candidate among others, not served unless it wins the gate.
            warnings.simplefilter("ignore", FutureWarning)
            self.net = torch.jit.freeze(torch.jit.trace(net, example, check_trace=False))

    def run(self, batch):
        with torch.inference_mode():
            return self.net(batch.contiguous(memory_format=torch.channels_last))


def cpu_flags():
    """The CPU's feature flags as Linux lists them (empty where /proc/cpuinfo is not there)."""
    return _cpu_flags(Path("/proc/cpuinfo"))


@lru_cache(maxsize=1)
def _cpu_flags(cpuinfo):
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return frozenset(line.partition(":")[2].split())

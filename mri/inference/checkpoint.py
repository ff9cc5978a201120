"""Saving and loading the ResNet50 checkpoint.

The file is a plain ``torch.save``d dict so anyone can rebuild the network with
torchvision alone::

    ckpt = torch.load(path, weights_only=True)
    model = torchvision.models.resnet50(weights=None, num_classes=len(ckpt["classes"]))
    model.load_state_dict({k: v.float() for k, v in ckpt["state_dict"].items()})

Keys: ``state_dict`` (float16 to keep the file small), ``classes`` (output order),
``input_size``, ``mean``, ``std``, ``temperature``, ``preprocessing`` and ``metadata``;
a trained model also has ``calibration`` (see :mod:`.calibration`) and, once fitted,
``ood`` (the out-of-distribution detector).
"""

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torchvision

from mri import CLASSES
from mri.inference.preprocess import DEFAULT_PREPROCESSING


class CheckpointError(RuntimeError):
    """The checkpoint is missing, corrupt or does not match its recorded hash."""


NUM_CLASSES = len(CLASSES)
PathLike = str | Path
# What torch.load gives back: the state dict, classes, input size, preprocessing, calibration, metadata...
Checkpoint = dict[str, Any]


def sha256_of(path: PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_file_for(path: PathLike) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def build_model(num_classes: int = NUM_CLASSES) -> torchvision.models.ResNet:
    # weights=None: nothing is ever downloaded.
    return torchvision.models.resnet50(weights=None, num_classes=num_classes)


def save_checkpoint(model: torch.nn.Module, path: PathLike, *, input_size: int, temperature: float = 1.0,
                    preprocessing: Mapping[str, Any] | None = None, mean: Sequence[float] = (0.0, 0.0, 0.0),
                    std: Sequence[float] = (1.0, 1.0, 1.0), metadata: Mapping[str, Any] | None = None,
                    extra: Mapping[str, Any] | None = None, calibration: Mapping[str, Any] | None = None) -> Path:
    """Write the checkpoint in half precision and record its SHA-256 beside it."""
    state = {k: (v.detach().half() if v.is_floating_point() else v.detach()).cpu().clone()
             for k, v in model.state_dict().items()}
    payload: Checkpoint = {
        "state_dict": state,
        "classes": list(CLASSES),
        "input_size": int(input_size),
        "mean": [float(m) for m in mean],
        "std": [float(s) for s in std],
        "temperature": float(temperature),
        "preprocessing": dict(preprocessing or DEFAULT_PREPROCESSING),
        "metadata": dict(metadata or {}),
    }
    if calibration is not None:
        payload["calibration"] = dict(calibration)
    payload.update(extra or {})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    hash_file_for(path).write_text(f"{sha256_of(path)}  {path.name}\n")
    return path


def expected_sha256(path: PathLike) -> str:
    record = hash_file_for(path)
    if not record.exists():
        raise CheckpointError(f"No SHA-256 record for the model: {record} is missing.")
    return record.read_text().split()[0]


def verify(path: PathLike) -> None:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(
            f"The model checkpoint {path} is missing. A clone of the repository has "
            "models/alzaware-resnet50.pt; or set ALZAWARE_MODEL_PATH to a checkpoint."
        )
    actual, expected = sha256_of(path), expected_sha256(path)
    if actual != expected:
        raise CheckpointError(
            f"The model checkpoint {path} is corrupt: its SHA-256 is {actual}, "
            f"but {hash_file_for(path).name} records {expected}."
        )


def recorded_split(metadata: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """``(training subjects, validation subjects)`` a checkpoint was trained with; empty sets if it records none.

    One spelling, ``metadata["split"]["train_subjects" / "val_subjects"]``, as ``cross_validate`` writes it.
    """
    split = metadata.get("split") or {}
    return set(split.get("train_subjects") or []), set(split.get("val_subjects") or [])


def load_checkpoint(path: PathLike, verify_hash: bool = True) -> tuple[torchvision.models.ResNet, Checkpoint]:
    """Return ``(model, checkpoint_dict)`` with the model in float32 eval mode."""
    if verify_hash:
        verify(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file
        raise CheckpointError(f"The model checkpoint {path} cannot be read: {exc}") from exc
    model = build_model(len(ckpt["classes"]))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v
                           for k, v in ckpt["state_dict"].items()})
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, ckpt

"""One training run of the ResNet50 on MRI slices: the recipe, augmentation and the loop (:func:`fit`).

Plain Python (no Django). :mod:`.crossval` runs it for every fold and for the
final model (``python manage.py cross_validate``).

The recipe is fixed in advance (no epoch or recipe is chosen on the validation
subjects that are reported): the final weights are the exponential moving
average (EMA) of the weights, taken at the epoch with the lowest loss on an
inner validation set of *training* subjects (``inner_val_fraction``; 0 keeps
the last epoch). Everything that fights the
"learns the people, not the disease" failure is on by default: cropping to the
brain and z-scoring inside the brain mask (the app's own preprocessing),
anatomically plausible augmentation, mixup, dropout before the classifier and
stochastic depth (both applied functionally in the training forward pass, so
the saved network stays a plain torchvision ``resnet50``), heavy decoupled
weight decay, ordinal label smoothing (probability leaks to neighbouring grades
only) and weight averaging.
"""

import math
import os
import random
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import CLASSES, evaluation
from .checkpoint import build_model
from .data import read_gray
from .preprocess import DEFAULT_PREPROCESSING, normalise_batch, to_square

DEFAULT_RECIPE = {
    "img_size": 80,
    "epochs": 20,
    # Wall-clock budget for the training loop (minutes): the cosine schedule runs on
    # max(step fraction, time fraction) and training stops when either reaches 1,
    # so a busy shared CPU shortens the schedule instead of overrunning it.
    "time_budget_min": 35.0,
    "batch_size": 32,
    "lr": 2e-3,
    "warmup_epochs": 2,
    "weight_decay": 0.2,
    "dropout": 0.3,
    "drop_path": 0.1,
    "mixup_alpha": 0.3,
    "ordinal_smoothing": 0.1,
    "class_weighting": "sqrt_inverse",
    "ema_decay": 0.997,
    "aug_rotate_deg": 10.0,
    "aug_scale": 0.10,
    "aug_shift": 0.06,
    "aug_flip": 0.5,
    "aug_gamma": 0.3,
    "aug_noise": 0.05,
    # What other pipelines and scanners change (issue 9). At 80 px an input pixel is already about
    # 2.3 mm of brain, so these are mild: resolution lost down to 3 mm and
    # back (largest downsampling factor at the input's scale), blur (largest sigma in input
    # pixels), and a smooth multiplicative bias field (largest log-gain at the edges).
    "aug_resolution": 1.3,
    "aug_blur": 0.6,
    "aug_bias": 0.3,
    "val_fraction": 0.2,
    # > 0: early stopping. This fraction of the *training* subjects (stratified) is set aside
    # as an inner validation set; the EMA weights of the epoch with the lowest inner-validation
    # loss are kept. The reported held-out subjects are never used to choose anything.
    "inner_val_fraction": 0.2,
    "seed": 20261128,
}


# --------------------------------------------------------------- splits and caching

def subject_split(records, val_fraction=0.2, seed=DEFAULT_RECIPE["seed"], min_subjects=3):
    """Stratified split by subject: about ``val_fraction`` of each class's subjects.

    Classes with fewer than ``min_subjects`` subjects stay entirely in training
    (Moderate Impairment has two: no held-out figure exists for it).
    """
    by_class = defaultdict(set)
    for r in records:
        by_class[r["label"]].add(r["subject"])
    rng = random.Random(seed)
    train, val = [], []
    for label in sorted(by_class):
        subjects = sorted(by_class[label])
        rng.shuffle(subjects)
        n_val = int(round(len(subjects) * val_fraction)) if len(subjects) >= min_subjects else 0
        val += subjects[:n_val]
        train += subjects[n_val:]
    return sorted(train), sorted(val)


def inner_subjects(records, recipe):
    """The training subjects set aside for early stopping (none when ``inner_val_fraction`` is 0)."""
    if recipe.get("inner_val_fraction", 0) <= 0:
        return []
    return subject_split(records, recipe["inner_val_fraction"], recipe["seed"] + 1)[1]


def cache_squares(records, img_size, spec, desc="decoding", progress_bar=True):
    """Decode every slice once and keep the cropped, resized square (uint8) in memory."""
    out = np.empty((len(records), img_size, img_size), dtype=np.uint8)
    for i, r in enumerate(tqdm(records, desc=desc, leave=False, mininterval=2, disable=not progress_bar)):
        square, _ = to_square(read_gray(r["path"]), img_size, spec)
        out[i] = np.clip(np.rint(square), 0, 255).astype(np.uint8)
    return torch.from_numpy(out)


# ---------------------------------------------------------------- devices and batches

def pick_device(name=None):
    """``"cuda"`` when a GPU is there (or asked for), else the CPU."""
    if name in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def augment_batch(x, rng, recipe):
    """Plausible changes for registered axial slices: L-R flip, small affine, gamma.

    ``x``: (B, S, S) float 0..255 on the training device; ``rng``: numpy Generator
    (the parameters are drawn on the CPU so a run is reproducible on any device).
    """
    b = len(x)
    flip = torch.as_tensor(rng.random(b) < recipe["aug_flip"], device=x.device)
    x = torch.where(flip[:, None, None], x.flip(-1), x)
    angle = np.deg2rad(rng.uniform(-recipe["aug_rotate_deg"], recipe["aug_rotate_deg"], b))
    scale = 1.0 + rng.uniform(-recipe["aug_scale"], recipe["aug_scale"], b)
    shift = rng.uniform(-recipe["aug_shift"], recipe["aug_shift"], (b, 2)) * 2  # in [-1, 1] units
    # affine_grid maps output to input coordinates: the inverse of "rotate, scale, shift".
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    theta = np.stack([np.stack([cos, sin, -(cos * shift[:, 0] + sin * shift[:, 1])], 1),
                      np.stack([-sin, cos, -(-sin * shift[:, 0] + cos * shift[:, 1])], 1)], 1)
    theta = torch.as_tensor(theta, dtype=torch.float32, device=x.device)
    grid = F.affine_grid(theta, (b, 1, *x.shape[1:]), align_corners=False)
    x = F.grid_sample(x[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0]
    x = other_pipeline(x, rng, recipe)
    if recipe["aug_gamma"]:
        gamma = torch.as_tensor(np.exp(rng.uniform(-recipe["aug_gamma"], recipe["aug_gamma"], b)),
                                dtype=torch.float32, device=x.device)
        x = 255.0 * (x / 255.0).clamp(0, 1) ** gamma[:, None, None]
    return x


def other_pipeline(x, rng, recipe):
    """Resolution loss, blur and a bias field, each drawn per slice; ranges of 0 switch them off.

    Half the slices keep their resolution and sharpness, so the network still sees
    the training data as it is.
    """
    b, side = len(x), x.shape[-1]
    factor = np.where(rng.random(b) < 0.5, 1.0, rng.uniform(1.0, max(recipe.get("aug_resolution", 1.0), 1.0), b))
    for i in np.flatnonzero(factor > 1.01):
        low = F.interpolate(x[i][None, None], size=max(int(side / factor[i]), 8), mode="area")
        x[i] = F.interpolate(low, size=(side, side), mode="bilinear", align_corners=False)[0, 0]
    sigma = np.where(rng.random(b) < 0.5, 0.0, rng.uniform(0, recipe.get("aug_blur", 0.0), b))
    if sigma.max() > 0.05:
        x = gaussian_blur(x, sigma)
    strength = recipe.get("aug_bias", 0.0)
    if strength:
        coords = torch.linspace(-1, 1, side, device=x.device)
        yy, xx = torch.meshgrid(coords, coords, indexing="ij")
        terms = torch.stack([xx, yy, xx * yy, xx ** 2 - 0.5, yy ** 2 - 0.5])  # smooth, low order
        coef = torch.as_tensor(rng.uniform(-strength, strength, (b, len(terms))), dtype=torch.float32,
                               device=x.device) / 2
        x = x * torch.exp(torch.einsum("bt,thw->bhw", coef, terms))
    return x


def gaussian_blur(x, sigma):
    """Each slice of ``x`` (B, S, S) blurred with its own ``sigma`` (pixels; 0 leaves it sharp)."""
    radius = int(np.ceil(3 * max(sigma.max(), 1e-3)))
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    kernels = np.exp(-offsets[None] ** 2 / (2 * np.maximum(sigma[:, None], 1e-3) ** 2))
    kernels = torch.as_tensor(kernels / kernels.sum(1, keepdims=True), dtype=torch.float32, device=x.device)
    b = len(x)
    out = F.conv2d(F.pad(x[None], (radius, radius, 0, 0), mode="replicate"), kernels[:, None, None, :], groups=b)
    out = F.conv2d(F.pad(out, (0, 0, radius, radius), mode="replicate"), kernels[:, None, :, None], groups=b)
    return out[0]


def make_batch(squares, spec, rng=None, recipe=None):
    """uint8 squares (B, S, S) tensor -> the network's input, augmented when ``rng`` is given."""
    x = squares.float()
    if rng is not None:
        x = augment_batch(x, rng, recipe)
    x = normalise_batch(x, spec)
    if rng is not None and recipe["aug_noise"]:
        noise = torch.as_tensor(rng.normal(0, recipe["aug_noise"], (len(x), 1, *x.shape[2:])),
                                dtype=torch.float32, device=x.device)
        x = x + noise
    return x.contiguous(memory_format=torch.channels_last)


# ------------------------------------------------------------ model forward

def _drop_path(x, p, training):
    if not training or p <= 0:
        return x
    keep = torch.empty((x.shape[0], 1, 1, 1), dtype=x.dtype, device=x.device).bernoulli_(1 - p)
    return x * keep / (1 - p)


def _bottleneck(block, x, p, training):
    identity = x if block.downsample is None else block.downsample(x)
    out = block.relu(block.bn1(block.conv1(x)))
    out = block.relu(block.bn2(block.conv2(out)))
    out = block.bn3(block.conv3(out))
    if block.downsample is None:  # never drop the blocks that change shape
        out = _drop_path(out, p, training)
    return block.relu(out + identity)


def train_forward(model, x, dropout=0.0, drop_path=0.0):
    """torchvision resnet50's forward with stochastic depth and dropout before fc.

    The parameters are the plain model's; at evaluation (``model.training`` is
    False) this is exactly ``model(x)``.
    """
    training = model.training
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    blocks = [b for layer in (model.layer1, model.layer2, model.layer3, model.layer4) for b in layer]
    for i, block in enumerate(blocks):
        x = _bottleneck(block, x, drop_path * i / max(len(blocks) - 1, 1), training)
    x = torch.flatten(model.avgpool(x), 1)
    x = F.dropout(x, dropout, training)
    return model.fc(x)


def ordinal_targets(labels, num_classes, eps):
    """One-hot with ``eps`` of the mass moved to the neighbouring grade(s)."""
    t = torch.zeros(len(labels), num_classes)
    for i, y in enumerate(labels.tolist()):
        neighbours = [j for j in (y - 1, y + 1) if 0 <= j < num_classes]
        t[i, y] = 1.0 - eps
        for j in neighbours:
            t[i, j] = eps / len(neighbours)
    return t


def bf16_supported(device):
    """bf16 autocast only pays off where the hardware computes bf16 natively."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return ("avx512_bf16" in flags) or ("amx_bf16" in flags)


class EMA:
    """Exponential moving average of parameters and BatchNorm buffers."""

    def __init__(self, model, decay):
        self.decay = decay
        self.shadow = {k: v.detach().clone().float() for k, v in model.state_dict().items()}
        self.updates = 0

    @torch.no_grad()
    def update(self, model):
        self.updates += 1
        # Warm-up: a short average while there are few updates.
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        shadows, values = [], []
        for k, v in model.state_dict().items():
            if v.is_floating_point():
                shadows.append(self.shadow[k])
                values.append(v.detach().float())
            else:
                self.shadow[k].copy_(v)
        torch._foreach_lerp_(shadows, values, 1 - d)

    def state_dict(self):
        return self.shadow

    def load_state_dict(self, state):
        self.shadow = {k: v.clone() for k, v in state.items()}

    def copy_to(self, model):
        model.load_state_dict({k: v.to(model.state_dict()[k].dtype) for k, v in self.shadow.items()})


@torch.no_grad()
def predict_logits(model, squares, spec, batch_size=256, autocast=False, flip=False):
    """Logits for uint8 squares (N, S, S) on the model's device; ``flip``: of the mirrored slices."""
    model.eval()
    device = next(model.parameters()).device
    outs = []
    for start in range(0, len(squares), batch_size):
        chunk = squares[start:start + batch_size].to(device)
        x = make_batch(chunk.flip(-1) if flip else chunk, spec)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            outs.append(model(x).float().cpu())
    return torch.cat(outs) if outs else torch.zeros(0, len(CLASSES))


# ------------------------------------------------------------------ helpers

def git_version(cwd=None):
    # A copy without .git (a borrowed GPU machine) is told its commit through the environment.
    if os.environ.get("ALZAWARE_CODE_VERSION"):
        return os.environ["ALZAWARE_CODE_VERSION"]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=cwd, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "assessments/ml"],
                               capture_output=True, text=True, cwd=cwd, timeout=10).stdout.strip()
        return (head or "unknown") + ("+dirty" if dirty else "")
    except Exception:
        return "unknown"


def class_weights(labels, mode, num_classes=len(CLASSES)):
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    w = np.zeros(num_classes)
    present = counts > 0
    if mode == "sqrt_inverse":
        w[present] = 1.0 / np.sqrt(counts[present])
    elif mode == "inverse":
        w[present] = 1.0 / counts[present]
    else:
        w[present] = 1.0
    w[present] *= present.sum() / w[present].sum() if mode == "none" else 1.0
    # normalise so the average weight per training slice is 1
    w *= len(labels) / float((w[labels]).sum())
    return torch.tensor(w, dtype=torch.float32)


def lr_at(progress, warmup_fraction, peak):
    """Linear warm-up then cosine to 2% of ``peak``; ``progress`` in [0, 1]."""
    if progress < warmup_fraction:
        return peak * max(progress / warmup_fraction, 0.01)
    p = (progress - warmup_fraction) / max(1 - warmup_fraction, 1e-9)
    return peak * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(p, 1.0))))


def param_groups(model, weight_decay):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def _atomic_save(obj, path):
    tmp = Path(str(path) + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


# -------------------------------------------------------------------- train

def fit(tr_sq, y_tr, recipe, *, device, spec=DEFAULT_PREPROCESSING, inner=None, watch=None,
        resume_state=None, on_epoch=None, log=print, progress_bar=True):
    """The training loop, on any device; no files, no report.

    ``tr_sq``: uint8 tensor (N, S, S) of training squares, ``y_tr``: labels.
    ``inner``: ``(squares, labels)`` of inner-validation subjects, or None: with it
    the EMA weights of the epoch with the lowest inner-validation loss are kept.
    ``watch``: ``(squares, labels, subjects)`` only measured each epoch for the
    learning curves, never used to choose anything. ``on_epoch(state)`` gets the
    resumable state after each epoch; ``resume_state`` continues from one.
    Returns ``(model, history, best_epoch)`` with the kept weights, in eval mode.
    """
    tr_sq = tr_sq.to(device)
    autocast = bf16_supported(device)
    model = build_model().to(device, memory_format=torch.channels_last)
    opt = torch.optim.AdamW(param_groups(model, recipe["weight_decay"]), lr=recipe["lr"],
                            fused=device.type == "cuda")
    ema = EMA(model, recipe["ema_decay"])
    weights = class_weights(y_tr, recipe["class_weighting"]).to(device)
    steps_per_epoch = len(tr_sq) // recipe["batch_size"]
    if steps_per_epoch == 0:
        raise ValueError(f"{len(tr_sq)} training slices are fewer than one batch of {recipe['batch_size']}")
    total = steps_per_epoch * recipe["epochs"]
    history, start_epoch, elapsed_before = [], 0, 0.0
    best = {"loss": float("inf"), "epoch": None, "state": None}
    if resume_state is not None:
        model.load_state_dict(resume_state["model"])
        opt.load_state_dict(resume_state["optimizer"])
        ema.load_state_dict({k: v.to(device) for k, v in resume_state["ema"].items()})
        ema.updates = resume_state["ema_updates"]
        history, start_epoch = resume_state["history"], resume_state["epoch"]
        elapsed_before = resume_state.get("train_seconds", 0.0)
        best = resume_state.get("best") or best
        log(f"resumed after epoch {start_epoch}")
    eval_model = build_model().to(device, memory_format=torch.channels_last)
    log(f"training {recipe['epochs']} epochs x {steps_per_epoch} steps on {device}, "
        f"bf16 autocast: {autocast}, class weights {weights.cpu().numpy().round(2).tolist()}")

    t_train = time.time()
    budget_s = 60.0 * recipe.get("time_budget_min", 0) or float("inf")
    warmup_fraction = recipe["warmup_epochs"] / recipe["epochs"]
    done = bool(history) and history[-1].get("progress", 0) >= 1.0
    for epoch in range(start_epoch, recipe["epochs"]):
        if done:
            break
        rng = np.random.default_rng(recipe["seed"] * 1000 + epoch)
        torch.manual_seed(recipe["seed"] * 1000 + epoch)
        order = rng.permutation(len(tr_sq))[:steps_per_epoch * recipe["batch_size"]]
        model.train()
        running = torch.zeros((), device=device)
        seen = 0
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{recipe['epochs']}",
                   mininterval=5, dynamic_ncols=True, disable=not progress_bar)
        for b in bar:
            step = epoch * steps_per_epoch + b
            progress = max(step / total, (elapsed_before + time.time() - t_train) / budget_s)
            if progress >= 1.0:
                done = True
                break
            for g in opt.param_groups:
                g["lr"] = lr_at(progress, warmup_fraction, recipe["lr"])
            idx = order[b * recipe["batch_size"]:(b + 1) * recipe["batch_size"]]
            x = make_batch(tr_sq[torch.as_tensor(idx, device=device)], spec, rng, recipe)
            labels = torch.as_tensor(y_tr[idx])
            target = ordinal_targets(labels, len(CLASSES), recipe["ordinal_smoothing"]).to(device)
            labels = labels.to(device)
            w = weights[labels]
            if recipe["mixup_alpha"] > 0:
                lam = float(rng.beta(recipe["mixup_alpha"], recipe["mixup_alpha"]))
                perm = torch.as_tensor(rng.permutation(len(idx)), device=device)
                x = lam * x + (1 - lam) * x[perm]
                target = lam * target + (1 - lam) * target[perm]
                w = lam * w + (1 - lam) * w[perm]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                logits = train_forward(model, x, recipe["dropout"], recipe["drop_path"])
            logp = F.log_softmax(logits.float(), dim=1)
            loss = (-(target * logp).sum(1) * w).sum() / w.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            ema.update(model)
            running += loss.detach() * len(idx)
            seen += len(idx)
            if progress_bar and b % 10 == 0:
                bar.set_postfix(loss=f"{float(running) / seen:.3f}", lr=f"{opt.param_groups[0]['lr']:.1e}")
        bar.close()
        train_loss = float(running) / max(seen, 1)
        ema.copy_to(eval_model)
        entry = {"epoch": epoch + 1, "steps": b + (0 if done else 1), "train_loss": train_loss}
        if watch is not None:
            # Learning curves only: nothing is selected on these numbers.
            w_sq, w_y, w_subjects = watch
            w_logits = predict_logits(eval_model, w_sq, spec, autocast=autocast)
            m = evaluation.metrics(w_y, w_logits.softmax(1).numpy(), w_subjects)
            entry.update(val_loss=float(F.cross_entropy(w_logits, torch.as_tensor(w_y))),
                         val_balanced_accuracy=m["balanced_accuracy"],
                         val_subject_accuracy=m["subject_accuracy"])
        if inner is not None:
            i_logits = predict_logits(eval_model, inner[0], spec, autocast=autocast)
            inner_loss = float(F.cross_entropy(i_logits, torch.as_tensor(inner[1])))
            entry["inner_val_loss"] = inner_loss
            if inner_loss < best["loss"]:
                best = {"loss": inner_loss, "epoch": epoch + 1,
                        "state": {k: v.detach().cpu().clone() for k, v in ema.state_dict().items()}}
        train_seconds = elapsed_before + time.time() - t_train
        entry["progress"] = 1.0 if done or epoch + 1 == recipe["epochs"] else progress
        entry["seconds"] = train_seconds
        history.append(entry)
        log(f"epoch {epoch + 1}: train loss {train_loss:.4f}"
            + (f", EMA held-out loss {entry['val_loss']:.4f}, bal acc {entry['val_balanced_accuracy']:.3f}, "
               f"subject acc {entry['val_subject_accuracy']:.3f}" if watch is not None else "")
            + (f", inner val loss {entry['inner_val_loss']:.4f} (best epoch {best['epoch']})"
               if inner is not None else "")
            + f", {train_seconds / 60:.1f} min")
        if on_epoch is not None:
            on_epoch({"model": model.state_dict(), "optimizer": opt.state_dict(), "ema": ema.state_dict(),
                      "ema_updates": ema.updates, "epoch": epoch + 1, "history": history,
                      "train_seconds": train_seconds, "best": best})

    # Final weights: the EMA at the last epoch (fixed in advance; no selection), or, with an
    # inner validation set, the EMA of the epoch with the lowest inner-validation loss.
    if inner is not None and best["state"] is not None:
        ema.load_state_dict({k: v.to(device) for k, v in best["state"].items()})
        log(f"kept the EMA weights of epoch {best['epoch']} (lowest inner-validation loss {best['loss']:.4f})")
    ema.copy_to(eval_model)
    return eval_model.eval(), history, (best["epoch"] if inner is not None else None)

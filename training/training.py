"""One training run of the ResNet50 on MRI slices: the recipe, augmentation and the loop (:func:`fit`).

Plain Python (no Django). :mod:`.crossval` runs it for every fold and for the
final model (``python -m training cross_validate``).

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
import subprocess
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from mri import CLASSES
from mri.inference.checkpoint import NUM_CLASSES, build_model
from mri.inference.preprocess import DEFAULT_PREPROCESSING, normalise_batch, to_square
from training.augment import augment_batch
from training.data import read_gray
from training.network import EMA, train_forward
from training.splits import subject_split

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
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "mri", "training"],
                               capture_output=True, text=True, cwd=cwd, timeout=10).stdout.strip()
        return (head or "unknown") + ("+dirty" if dirty else "")
    except Exception:
        return "unknown"


def class_weights(labels, mode, num_classes=NUM_CLASSES):
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
    for p in model.parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def _atomic_save(obj, path):
    tmp = Path(str(path) + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


# -------------------------------------------------------------------- train

def fit(tr_sq, y_tr, recipe, *, device, spec=DEFAULT_PREPROCESSING, inner=None, resume_state=None, on_epoch=None,
        log=print, progress_bar=True):
    """The training loop, on any device; no files, no report.

    ``tr_sq``: uint8 tensor (N, S, S) of training squares, ``y_tr``: labels.
    ``inner``: ``(squares, labels)`` of inner-validation subjects, or None: with it
    the EMA weights of the epoch with the lowest inner-validation loss are kept.
    ``on_epoch(state)`` gets the resumable state after each epoch; ``resume_state``
    continues from one. Returns ``(model, history, best_epoch)`` with the kept
    weights, in eval mode.
    """
    run = Run(tr_sq.to(device), y_tr, recipe, device, spec)
    if run.steps_per_epoch == 0:
        raise ValueError(f"{len(tr_sq)} training slices are fewer than one batch of {recipe['batch_size']}")
    if resume_state is not None:
        run.resume(resume_state)
        log(f"resumed after epoch {run.start_epoch}")
    log(f"training {recipe['epochs']} epochs x {run.steps_per_epoch} steps on {device}, bf16 autocast: "
        f"{run.autocast}, class weights {run.weights.cpu().numpy().round(2).tolist()}")
    for epoch in range(run.start_epoch, recipe["epochs"]):
        if run.done:
            break
        train_loss, steps = run.epoch(epoch, progress_bar)
        entry = {"epoch": epoch + 1, "steps": steps, "train_loss": train_loss}
        if inner is not None:
            entry["inner_val_loss"] = run.score_inner(epoch, inner)
        entry.update(progress=1.0 if run.done or epoch + 1 == recipe["epochs"] else run.progress,
                     seconds=run.seconds())
        run.history.append(entry)
        log(f"epoch {epoch + 1}: train loss {train_loss:.4f}"
            + (f", inner val loss {entry['inner_val_loss']:.4f} (best epoch {run.best['epoch']})"
               if inner is not None else "") + f", {entry['seconds'] / 60:.1f} min")
        if on_epoch is not None:
            on_epoch(run.state(epoch + 1))
    # Final weights: the EMA at the last epoch (fixed in advance; no selection), or, with an
    # inner validation set, the EMA of the epoch with the lowest inner-validation loss.
    if inner is not None and run.best["state"] is not None:
        run.ema.load_state_dict({k: v.to(device) for k, v in run.best["state"].items()})
        log(f"kept the EMA weights of epoch {run.best['epoch']} (lowest inner-validation loss {run.best['loss']:.4f})")
    run.ema.copy_to(run.eval_model)
    return run.eval_model.eval(), run.history, (run.best["epoch"] if inner is not None else None)


class Run:
    """One training run's model, optimiser, weight average, schedule and history (see :func:`fit`)."""

    def __init__(self, tr_sq, y_tr, recipe, device, spec):
        self.tr_sq, self.y_tr, self.recipe, self.device, self.spec = tr_sq, y_tr, recipe, device, spec
        self.autocast = bf16_supported(device)
        self.model = build_model().to(device, memory_format=torch.channels_last)
        self.eval_model = build_model().to(device, memory_format=torch.channels_last)
        self.opt = torch.optim.AdamW(param_groups(self.model, recipe["weight_decay"]), lr=recipe["lr"],
                                     fused=device.type == "cuda")
        self.ema = EMA(self.model, recipe["ema_decay"])
        self.weights = class_weights(y_tr, recipe["class_weighting"]).to(device)
        self.steps_per_epoch = len(tr_sq) // recipe["batch_size"]
        self.history, self.start_epoch, self.elapsed_before = [], 0, 0.0
        self.best = {"loss": float("inf"), "epoch": None, "state": None}
        self.started = time.time()
        # The cosine schedule runs on max(step fraction, time fraction of the budget): a slow machine
        # shortens the schedule instead of overrunning it.
        self.budget_s = 60.0 * recipe.get("time_budget_min", 0) or float("inf")
        self.progress = 0.0

    @property
    def done(self):
        return bool(self.history) and self.history[-1].get("progress", 0) >= 1.0 or self.progress >= 1.0

    def seconds(self):
        return self.elapsed_before + time.time() - self.started

    def resume(self, state):
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.ema.load_state_dict({k: v.to(self.device) for k, v in state["ema"].items()})
        self.ema.updates = state["ema_updates"]
        self.history, self.start_epoch = state["history"], state["epoch"]
        self.elapsed_before = state.get("train_seconds", 0.0)
        self.best = state.get("best") or self.best

    def state(self, epoch):
        return {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(), "ema": self.ema.state_dict(),
                "ema_updates": self.ema.updates, "epoch": epoch, "history": self.history,
                "train_seconds": self.seconds(), "best": self.best}

    def epoch(self, epoch, progress_bar):
        """One pass over the shuffled training slices; returns ``(mean training loss, steps taken)``."""
        recipe, size = self.recipe, self.recipe["batch_size"]
        rng = np.random.default_rng(recipe["seed"] * 1000 + epoch)
        torch.manual_seed(recipe["seed"] * 1000 + epoch)
        order = rng.permutation(len(self.tr_sq))[:self.steps_per_epoch * size]
        self.model.train()
        running, seen, steps = torch.zeros((), device=self.device), 0, 0
        bar = tqdm(range(self.steps_per_epoch), desc=f"epoch {epoch + 1}/{recipe['epochs']}", mininterval=5,
                   dynamic_ncols=True, disable=not progress_bar)
        for b in bar:
            step = epoch * self.steps_per_epoch + b
            self.progress = max(step / (self.steps_per_epoch * recipe["epochs"]), self.seconds() / self.budget_s)
            if self.progress >= 1.0:
                break
            for g in self.opt.param_groups:
                g["lr"] = lr_at(self.progress, recipe["warmup_epochs"] / recipe["epochs"], recipe["lr"])
            idx = order[b * size:(b + 1) * size]
            running += self.step(idx, rng) * len(idx)
            seen, steps = seen + len(idx), steps + 1
            if progress_bar and b % 10 == 0:
                bar.set_postfix(loss=f"{float(running) / seen:.3f}", lr=f"{self.opt.param_groups[0]['lr']:.1e}")
        bar.close()
        return float(running) / max(seen, 1), steps

    def step(self, idx, rng):
        """One optimiser step on the slices ``idx`` (augmented, mixed up); returns the detached loss."""
        recipe = self.recipe
        x = make_batch(self.tr_sq[torch.as_tensor(idx, device=self.device)], self.spec, rng, recipe)
        labels = torch.as_tensor(self.y_tr[idx])
        target = ordinal_targets(labels, len(CLASSES), recipe["ordinal_smoothing"]).to(self.device)
        w = self.weights[labels.to(self.device)]
        if recipe["mixup_alpha"] > 0:
            lam = float(rng.beta(recipe["mixup_alpha"], recipe["mixup_alpha"]))
            perm = torch.as_tensor(rng.permutation(len(idx)), device=self.device)
            x, target, w = (lam * v + (1 - lam) * v[perm] for v in (x, target, w))
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            logits = train_forward(self.model, x, recipe["dropout"], recipe["drop_path"])
        loss = (-(target * F.log_softmax(logits.float(), dim=1)).sum(1) * w).sum() / w.sum()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.ema.update(self.model)
        return loss.detach()

    def score_inner(self, epoch, inner):
        """The EMA weights' loss on the inner-validation slices; the best epoch's weights are kept."""
        self.ema.copy_to(self.eval_model)
        logits = predict_logits(self.eval_model, inner[0], self.spec, autocast=self.autocast)
        loss = float(F.cross_entropy(logits, torch.as_tensor(inner[1])))
        if loss < self.best["loss"]:
            self.best = {"loss": loss, "epoch": epoch + 1,
                         "state": {k: v.detach().cpu().clone() for k, v in self.ema.state_dict().items()}}
        return loss

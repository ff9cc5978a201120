"""Issue 21, point 6: does a ResNet50 trained at 160 px (layer4 5 x 5) lose per-person accuracy, and is its
Grad-CAM map more faithful by the app's own deletion score? One measured experiment on a lent GPU.

Three steps, plain Python (no Django):

``pack``   (here, CPU): every slice cropped and resized as the app does (``to_square``) at 160 px, lossy WebP
           (the device takes at most ~15 MB of data), with labels, people and the shipped model's folds.
``run``    (on the GPU): 5-fold cross-validation by person with the project's recipe, at 160 px and, as a
           same-machine control, at 80 px (the 160-px squares area-resized); each fold's model scores its
           held-out slices: logits, the raw map's weight inside the brain mask and the deletion score
           (``mri.explain.faithfulness``) with the map confined to the brain and its rim as the app draws it,
           and unconfined. Each (size, fold) trains in its own process on the one GPU.
``report`` (here): per-person figures with bootstrap intervals over people, beside the shipped 80-px
           out-of-fold logits (``models/alzaware-resnet50/oof_logits.csv``) of the same folds.
"""

import argparse
import csv
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from mri import CLASSES
from mri.inference.preprocess import DEFAULT_PREPROCESSING, brain_mask, map_region

SIZE = 160
WEBP_QUALITY = 72


def pack(data_dir, out_path, oof_path, subjects_limit=None):
    from training.data import load_records
    from training.training import cache_squares

    records = load_records(data_dir)
    fold_of = {}
    with open(oof_path, newline="") as fh:
        for row in csv.DictReader(fh):
            fold_of[row["path"]] = int(row["fold"])
    if subjects_limit:
        keep = sorted({r["subject"] for r in records})[::max(1, 160 // subjects_limit)]
        records = [r for r in records if r["subject"] in keep]
    squares = cache_squares(records, SIZE, dict(DEFAULT_PREPROCESSING), progress_bar=False).numpy()
    blobs = []
    for s in squares:
        buf = io.BytesIO()
        Image.fromarray(s).save(buf, "WEBP", quality=WEBP_QUALITY)
        blobs.append(np.frombuffer(buf.getvalue(), dtype=np.uint8))
    paths = [str(Path(r["path"]).relative_to(data_dir)) for r in records]
    np.savez(out_path, blob=np.concatenate(blobs), offsets=np.cumsum([0] + [len(b) for b in blobs]),
             labels=np.array([r["label"] for r in records]), subjects=np.array([r["subject"] for r in records]),
             paths=np.array(paths), folds=np.array([fold_of[p] for p in paths]))
    print(f"{len(records)} slices, {os.path.getsize(out_path) / 1e6:.1f} MB")


def decode(data):
    try:
        return np.asarray(Image.open(io.BytesIO(data.tobytes())).convert("L"))
    except OSError:  # a Pillow built without WebP
        import cv2

        return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def load_pack(path):
    d = np.load(path)
    off = d["offsets"]
    squares = np.stack([decode(d["blob"][off[i]:off[i + 1]]) for i in range(len(off) - 1)])
    return squares, d["labels"], [str(s) for s in d["subjects"]], [str(p) for p in d["paths"]], d["folds"]


def at_size(squares, size):
    if size == squares.shape[-1]:
        return torch.from_numpy(squares)
    x = F.interpolate(torch.from_numpy(squares).float()[:, None], size=(size, size), mode="area")[:, 0]
    return x.round().clamp(0, 255).to(torch.uint8)


def train_fold(squares, labels, subjects, train_idx, recipe, device):
    """The protocol of ``training.crossval._train_run`` without its per-epoch state files."""
    from training.training import fit, inner_subjects

    inner = set(inner_subjects([{"subject": subjects[i], "label": int(labels[i])} for i in train_idx], recipe))
    is_inner = np.array([subjects[i] in inner for i in train_idx], dtype=bool)
    fit_idx, inner_idx = train_idx[~is_inner], train_idx[is_inner]
    model, history, best = fit(squares[fit_idx], labels[fit_idx], recipe, device=device,
                               inner=(squares[inner_idx], labels[inner_idx]), log=print, progress_bar=False)
    return model, history, best


def score_maps(model, squares, device, spec):
    """Per held-out slice: raw-map weight inside the brain mask, deletion score confined (as drawn) and not."""
    from mri.explain.faithfulness import faithfulness
    from mri.explain.method import method_for
    from training.training import make_batch

    cam_of = method_for("grad-cam")
    model = model.float().eval()

    def predict(batch):
        return torch.softmax(model(batch.to(device)).float(), 1).cpu()

    rows = []
    for sq in squares:
        chw = make_batch(sq[None].to(device), spec)[0].contiguous()
        with torch.inference_mode():
            a = chw[None]
            for name in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"):
                a = getattr(model, name)(a)
            logits = model.fc(torch.flatten(model.avgpool(a), 1))
            prob = torch.softmax(logits.float(), 1)[0].cpu()
            cams = cam_of(a.float(), model.fc.weight.float())[0].cpu().numpy()
        c = int(prob.argmax())
        size = sq.shape[-1]
        square = sq.numpy()
        heat = F.interpolate(torch.from_numpy(cams[c])[None, None], size=(size, size), mode="bilinear",
                             align_corners=False)[0, 0].numpy()
        inside = brain_mask(square)
        share = float(heat[inside].sum() / heat.sum()) if heat.sum() > 0 else float("nan")
        region = map_region(square, size)
        scores = []
        for where in (region, None):
            f = faithfulness(predict, chw.cpu(), cams[c], c, float(prob[c]), inside=where)
            scores.append(float("nan") if f is None else f.score)
        rows.append((share, *scores))
    return np.array(rows)


def run_one(pack_path, size, fold, out_dir, budget_min, epochs, limit_steps):
    from training.training import DEFAULT_RECIPE, predict_logits

    torch.set_num_threads(1)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True
    squares, labels, subjects, _, folds = load_pack(pack_path)
    squares = at_size(squares, size)
    recipe = dict(DEFAULT_RECIPE, img_size=size, time_budget_min=budget_min, epochs=epochs)
    # A second seed (inner people, initialisation, augmentation) without another argument: GPU160_SEED_OFFSET.
    recipe["seed"] += int(os.environ.get("GPU160_SEED_OFFSET", "0"))
    spec = dict(DEFAULT_PREPROCESSING)
    t0 = time.time()
    model, history, best = train_fold(squares, labels, subjects, np.flatnonzero(folds != fold), recipe, device)
    test = np.flatnonzero(folds == fold)
    logits = predict_logits(model, squares[test], spec)
    maps = score_maps(model, squares[test][:limit_steps or None], device, spec)
    np.savez(Path(out_dir) / f"s{size}-f{fold}.npz", test=test, logits=logits.numpy(), maps=maps,
             best_epoch=best or 0, history=json.dumps(history), seconds=time.time() - t0)
    print(f"size {size} fold {fold} done in {time.time() - t0:.0f} s, kept epoch {best}", flush=True)


def run_all(pack_path, out_dir, sizes, budget_min, epochs, limit_steps):
    """One process per (size, fold) on the one GPU, then one CSV of out-of-fold rows and map scores."""
    import subprocess

    tmp = Path(out_dir) / "parts"
    tmp.mkdir(parents=True, exist_ok=True)
    procs = [subprocess.Popen([sys.executable, "-m", "training.gpu_160_experiment", "one", pack_path, str(s), str(k),
                               str(tmp), str(budget_min), str(epochs), str(limit_steps)])
             for s in sizes for k in range(5)]
    codes = [p.wait() for p in procs]
    print("exit codes", codes, flush=True)
    collect(pack_path, out_dir, sizes)


def collect(pack_path, out_dir, sizes):
    """The finished parts -> ``oof_160_80.csv`` (a row per held-out slice) and ``runs.json``."""
    tmp = Path(out_dir) / "parts"
    _, labels, subjects, paths, folds = load_pack(pack_path)
    summary = {}
    with open(Path(out_dir) / "oof_160_80.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["size", "path", "subject", "label", *[f"logit_{j}" for j in range(len(CLASSES))], "fold",
                         "map_weight_in_brain", "deletion_confined", "deletion_unconfined"])
        for s in sizes:
            for k in range(5):
                part = tmp / f"s{s}-f{k}.npz"
                if not part.exists():
                    continue
                d = np.load(part)
                history = json.loads(str(d["history"]))
                summary[f"{s}-{k}"] = {"best_epoch": int(d["best_epoch"]), "seconds": float(d["seconds"]),
                                       "epochs_run": len(history),
                                       "last_progress": history[-1]["progress"] if history else None}
                for j, i in enumerate(d["test"]):
                    m = d["maps"][j] if j < len(d["maps"]) else [float("nan")] * 3
                    writer.writerow([s, paths[i], subjects[i], CLASSES[labels[i]],
                                     *[f"{v:.5f}" for v in d["logits"][j]], k, *[f"{v:.4f}" for v in m]])
    (Path(out_dir) / "runs.json").write_text(json.dumps(summary, indent=1))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("pack")
    a.add_argument("--data", default="../shared/data/alzheimer-mri")
    a.add_argument("--out", default=".data/squares160.npz")
    a.add_argument("--oof", default="models/alzaware-resnet50/oof_logits.csv")
    a.add_argument("--subjects-limit", type=int)
    a = sub.add_parser("run")
    a.add_argument("--pack", default=".data/squares160.npz")
    a.add_argument("--out", default=os.environ.get("OUT", "out"))
    a.add_argument("--sizes", default="160,80")
    a.add_argument("--budget-min", type=float, default=35.0)
    a.add_argument("--epochs", type=int, default=20)
    a.add_argument("--limit-slices", type=int, default=0)
    a = sub.add_parser("one")
    for name in ("pack", "size", "fold", "out", "budget", "epochs", "limit"):
        a.add_argument(name)
    a = sub.add_parser("report")
    a.add_argument("--oof", required=True)
    a.add_argument("--runs")
    a.add_argument("--out", default="models/alzaware-resnet50/tried/160px-gpu")
    args = p.parse_args(argv)
    if args.cmd == "pack":
        pack(args.data, args.out, args.oof, args.subjects_limit)
    elif args.cmd == "run":
        run_all(args.pack, args.out, [int(s) for s in args.sizes.split(",")], args.budget_min, args.epochs,
                args.limit_slices)
    elif args.cmd == "one":
        run_one(args.pack, int(args.size), int(args.fold), args.out, float(args.budget), int(args.epochs),
                int(args.limit))
    else:
        from training.gpu_160_report import report
        report(args.oof, args.runs, args.out)


if __name__ == "__main__":
    main()

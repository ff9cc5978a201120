"""How often the "outside what the model was trained on" mark falls on ordinary slices of people it never saw.

    python -m training.ood_marks --data ../shared/data/alzheimer-mri [--write]

The final model's inner-validation people took no gradient step (they only chose its epoch): their slices
are training-kind slices of unseen people. The mark's threshold is a quantile of their distances
(``ood.CLEAN_RATE``); measured on the very slices it was set on, the mark rate is that quantile by
construction. So it is measured here cross-fitted by person: the people are dealt into groups, each group's
slices are marked by a threshold set on the other groups' slices, and the marked share is pooled, with a
bootstrap interval over people. ``--write`` sets the checkpoint's ``unsure_above`` at ``ood.CLEAN_RATE`` of all
of them (the refusal threshold, ``refuse_above``, is left as it is: nothing refused today gets through).
"""

import argparse

import numpy as np

from mri.inference import ood

CANDIDATES = (0.975, 0.98, 0.985, 0.99, 0.995)
GROUPS = 5
SEED = 20261204


def cross_fitted_rate(distances, people, clean_rate, groups=GROUPS, seed=SEED, bootstrap=2000):
    """Pooled share of slices marked when each group of people is marked by the other groups' threshold."""
    people = np.asarray(people)
    names = np.array(sorted(set(people)))
    order = np.random.default_rng(seed).permutation(len(names))
    group_of = {names[j]: k % groups for k, j in enumerate(order)}
    group = np.array([group_of[p] for p in people])
    marked = np.zeros(len(distances), dtype=bool)
    for k in range(groups):
        here = group == k
        threshold = float(np.quantile(distances[~here], clean_rate, method="higher"))
        marked[here] = distances[here] > threshold
    rng = np.random.default_rng(seed)
    by_person = [np.flatnonzero(people == n) for n in names]
    draws = [marked[np.concatenate([by_person[j] for j in rng.integers(0, len(names), len(names))])].mean()
             for _ in range(bootstrap)]
    return {"clean_rate": clean_rate, "marked": float(marked.mean()),
            "interval": [float(np.percentile(draws, q)) for q in (2.5, 97.5)],
            "people_with_a_mark": int(sum(marked[i].any() for i in by_person)), "people": int(len(names))}


def validation_distances(model_path, data_dir, log=print):
    from mri.inference.checkpoint import load_checkpoint, recorded_split
    from mri.inference.engine import Engine

    from .data import load_records
    from .ood_fitting import features_of

    model, checkpoint = load_checkpoint(model_path)
    engine = Engine(model, checkpoint)
    detector = ood.OodDetector.from_checkpoint(checkpoint.get("ood"))
    _, validation = recorded_split(dict(checkpoint.get("metadata") or {}))
    rows = [r for r in load_records(data_dir) if r["subject"] in validation]
    log(f"{len(rows)} slices of {len(validation)} people the model never trained on")
    from .ood_fitting import weights_digest

    # Keyed by the weights: rewriting a threshold into the checkpoint keeps the cache valid.
    cache = f"runs/ood-features/{weights_digest(checkpoint)}-marks-validation.npy"
    features = features_of(engine, [r["path"] for r in rows], cache)
    return detector, detector.distances(features), [r["subject"] for r in rows]


def write_threshold(model_path, unsure_above, info):
    from mri.inference.checkpoint import load_checkpoint, save_checkpoint

    model, checkpoint = load_checkpoint(model_path)
    stored = dict(checkpoint["ood"])
    stored["unsure_above"] = float(unsure_above)
    stored["info"] = {**dict(stored.get("info") or {}), **info}
    extra = {k: v for k, v in checkpoint.items() if k != "state_dict"}
    extra["ood"] = stored
    save_checkpoint(model, model_path, input_size=checkpoint["input_size"], extra=extra)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", default="models/alzaware-resnet50.pt")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    detector, distances, people = validation_distances(args.model, args.data)
    print(f"now: unsure above {detector.unsure_above:.2f} marks {np.mean(distances > detector.unsure_above):.2%} of "
          "these slices (the ones it was set on)")
    print("| clean rate | marked, cross-fitted by person | 95% interval | people with a mark |\n| --- | --- | --- | --- |")
    rows = [cross_fitted_rate(distances, people, rate) for rate in CANDIDATES]
    for r in rows:
        print(f"| {r['clean_rate']} | {r['marked']:.2%} | {r['interval'][0]:.2%}–{r['interval'][1]:.2%} | "
              f"{r['people_with_a_mark']} of {r['people']} |")
    unsure = float(np.quantile(distances, ood.CLEAN_RATE, method="higher"))
    chosen = next(r for r in rows if r["clean_rate"] == ood.CLEAN_RATE)
    print(f"ood.CLEAN_RATE {ood.CLEAN_RATE}: unsure above {unsure:.2f} (refused above {detector.refuse_above:.2f})")
    if args.write:
        write_threshold(args.model, unsure, {"validation_clean_rate": float(np.mean(distances <= unsure)),
                                             "unseen_people_marked_cross_fitted": chosen})
        print(f"wrote unsure_above into {args.model}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

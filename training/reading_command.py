"""``python -m training reading_report``: the measures, the combined estimate and the headline rule, per person.

Reads the committed out-of-fold logits and the data, prints and writes ``reading.json`` / ``reading.md`` beside
them, and with ``--write`` stores in the checkpoint what the app reads: ``measures_reference`` (the training
people's ranges), ``headline_rule`` (chosen on out-of-fold people) and ``any_impairment_model`` (only when the
combined estimate beat the network in nested cross-validation over people; removed otherwise).
"""

import hashlib
import json
from pathlib import Path

import numpy as np

from .registry import CommandError, command, default_model


@command("reading_report", "Per person, from the out-of-fold logits: the atrophy measures alone, the network, the "
         "linear baseline, the stacked any-impairment estimate (nested CV over people) and the headline rule; "
         "--write stores the reference ranges, the rule and (if it wins) the stacked model in the checkpoint.")
def reading_arguments(parser):
    parser.add_argument("--data", required=True, help="folder with manifest.csv and the images")
    parser.add_argument("--model", default=None, help="checkpoint (default: ALZAWARE_MODEL_PATH)")
    parser.add_argument("--oof", default=None, help="out-of-fold logits (default: <model without .pt>/oof_logits.csv)")
    parser.add_argument("--cache-dir", default="runs/reading", help="measures and baseline cache")
    parser.add_argument("--no-baseline", action="store_true", help="skip refitting the linear baseline")
    parser.add_argument("--write", action="store_true", help="store the results in the checkpoint")
    parser.add_argument("--from-report", action="store_true",
                        help="with --write: store what the last run wrote to reading.json, without rerunning")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(run=reading_report)


def study(data, oof_path, cache_dir, baseline=True, log=print):
    """The whole study as plain data, and what the checkpoint gets."""
    from mri import CLASSES

    from . import headline_rule, measures_reference, reading
    from .crossval import read_rows
    from .data import load_records, read_gray

    data = Path(data)
    labels, logits, subjects, folds, paths = read_rows(oof_path)
    records = {str(Path(r["path"]).relative_to(data)): r for r in load_records(data)}
    ordered = [records[p] for p in paths]
    key = hashlib.sha256("\n".join(paths).encode()).hexdigest()[:12]
    cache = Path(cache_dir) / f"measures-{key}.npy" if cache_dir else None
    log(f"measuring {len(paths)} slices (cached in {cache})")
    values = reading.slice_measures([r["path"] for r in ordered], read_gray, cache)
    slices = [r["slice"] for r in ordered]
    table, probs = reading.people(labels, logits, subjects, folds, slices, values)
    baseline_p_any = _baseline(ordered, folds, subjects, table, cache_dir, key, log) if baseline else None
    log("stacking (nested cross-validation over people)")
    any_study, combined = reading.any_impairment_study(table, baseline_p_any)
    if baseline_p_any is None:
        published = _published_baseline(Path(oof_path).parent / "cv_report.json")
        if published:
            any_study["rows"]["linear_baseline"] = published
    slice_study, slice_combined = reading.slice_level_combined(table, labels, probs, subjects, folds, values)
    ships = any_study["combined_ships"]
    shown_people = combined if ships else table["p_any"]
    shown_slices = slice_combined if ships else 1.0 - probs[:, 0]
    log("choosing the headline rule (nested over the folds)")
    person_headlines = headline_rule.nested_report(table["probs"], shown_people, table["label"], table["fold"])
    slice_headlines = headline_rule.nested_report(probs, shown_slices, labels, folds,
                                                  person_headlines["rule_per_fold"])
    person_values = {s: {k: float(table[k][i]) for k in reading.measures.KEYS}
                     for i, s in enumerate(table["subject"])}
    groups = {s: CLASSES[int(t)] for s, t in zip(table["subject"], table["label"])}
    stored = {
        "measures_reference": measures_reference.build(person_values, groups, CLASSES),
        "headline_rule": headline_rule.checkpoint_rule(table["probs"], shown_people, table["label"],
                                                       person_headlines["nested"]),
        "any_impairment_model": reading.checkpoint_model(table) if ships else None,
    }
    report = {"oof": str(oof_path), "any_impairment_per_person": any_study, "any_impairment_per_slice": slice_study,
              "headline_per_person": person_headlines, "headline_per_slice": slice_headlines,
              "headline_rule": {k: stored["headline_rule"][k] for k in headline_rule.GRID},
              "measures_reference": stored["measures_reference"], "any_impairment_model": stored["any_impairment_model"]}
    return report, stored


def _published_baseline(path):
    """The linear baseline's per-person any-impairment AUC as ``cv_report`` published it (same folds, same people)."""
    if not path.exists():
        return None
    figures = json.loads(path.read_text()).get("linear_baseline_any_impairment")
    if not figures:
        return None
    return {"auc": figures["auc"], "interval": figures["intervals"]["auc"], "people": figures["subjects"],
            "source": f"{path.name} (not refitted here)"}


def _baseline(records, folds, subjects, table, cache_dir, key, log):
    from .report import baseline_out_of_fold

    cache = Path(cache_dir) / f"baseline-{key}.npy" if cache_dir else None
    if cache is not None and cache.exists():
        probs = np.load(cache)
    else:
        log("refitting the linear baseline on the same folds")
        probs = baseline_out_of_fold(records, folds)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, probs)
    subjects = np.asarray(subjects)
    return np.array([1.0 - probs[subjects == s, 0].mean() for s in table["subject"]])


def reading_report(opts, say):
    from .reading_markdown import markdown

    model = Path(opts.model or default_model())
    oof = Path(opts.oof or model.with_suffix("") / "oof_logits.csv")
    if not oof.exists():
        raise CommandError(f"{oof} is missing: run python -m training cross_validate first")
    out_dir = oof.parent
    if opts.from_report:
        if not opts.write:
            raise CommandError("--from-report only makes sense with --write")
        write_into_checkpoint(model, stored_from_report(json.loads((out_dir / "reading.json").read_text())))
        say(f"Saved the results of {out_dir / 'reading.json'} in {model}")
        return
    report, stored = study(opts.data, oof, opts.cache_dir, baseline=not opts.no_baseline, log=say)
    (out_dir / "reading.json").write_text(json.dumps(report, indent=1, default=float) + "\n")
    (out_dir / "reading.md").write_text(markdown(report))
    say(json.dumps(report, indent=1, default=float) if opts.json else markdown(report))
    if opts.write:
        write_into_checkpoint(model, stored)
        say(f"Saved measures_reference, headline_rule and any_impairment_model "
            f"({'stacked model' if stored['any_impairment_model'] else 'none: the network is kept'}) in {model}")


def stored_from_report(report):
    """What :func:`study` stores in the checkpoint, read back from its ``reading.json``."""
    rule = {**report["headline_rule"], "chosen_on": "out-of-fold people, all folds",
            "how_often_right_nested": report["headline_per_person"]["nested"]}
    return {"measures_reference": report["measures_reference"], "headline_rule": rule,
            "any_impairment_model": report["any_impairment_model"]}


def write_into_checkpoint(path, stored):
    import torch

    from mri.inference.checkpoint import load_checkpoint, save_checkpoint

    model, checkpoint = load_checkpoint(path)
    extra = {k: v for k, v in checkpoint.items() if k not in ("state_dict", "any_impairment_model")}
    extra.update({k: v for k, v in stored.items() if v is not None})
    save_checkpoint(model, path, input_size=checkpoint["input_size"], extra=extra)
    torch.load(path, map_location="cpu", weights_only=True)  # still loads the safe way

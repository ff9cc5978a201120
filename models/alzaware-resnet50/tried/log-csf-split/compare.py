"""Per-person AUC of each measure and of the combined estimate, old split against a new one, paired."""
import json
import sys
from pathlib import Path

import numpy as np
import proto  # beside this file: Python puts a script's own folder first on the path

from mri import measures
from training import reading
from training.crossval import read_rows
from training.data import load_records, read_gray

data = Path("../shared/data/alzheimer-mri")
labels, logits, subjects, folds, paths = read_rows("models/alzaware-resnet50/oof_logits.csv")
records = {str(Path(r["path"]).relative_to(data)): r for r in load_records(data)}
ordered = [records[p] for p in paths]
slices = [r["slice"] for r in ordered]
out = {}
tables = {}
for name in sys.argv[1:]:
    if name == "hybrid":
        measures.slice_parts, measures.measure_slice = proto.ORIGINAL, proto.measure_hybrid
    else:
        measures.slice_parts = proto.ORIGINAL if name == "old" else proto.variant(proto.pick(name))
    values = reading.slice_measures([r["path"] for r in ordered], read_gray, Path(f"runs/h21/measures-{name}.npy"))
    table, probs = reading.people(labels, logits, subjects, folds, slices, values)
    study, combined = reading.any_impairment_study(table)
    tables[name] = (table, combined)
    out[name] = {k: (round(v["auc"], 3), [round(x, 3) for x in v["interval"]], round(v.get("ece", float("nan")), 3))
                 for k, v in study["rows"].items()}
    out[name]["gain_over_network"] = study["combined_gain_over_network"]
    print(name, json.dumps(out[name]), flush=True)
base_table, base_combined = tables["old"]
y = (base_table["label"] != reading.UNIMPAIRED).astype(int)
for name in sys.argv[2:]:
    table, combined = tables[name]
    assert list(table["subject"]) == list(base_table["subject"])
    diffs = {}
    for key in measures.KEYS:
        ok = np.isfinite(table[key]) & np.isfinite(base_table[key])
        diffs[key] = reading.paired_gain(y[ok], table[key][ok], base_table[key][ok])
    diffs["combined"] = reading.paired_gain(y, combined, base_combined)
    out[name]["paired_vs_old"] = diffs
    print(name, "minus old:", json.dumps({k: (round(v["gain"], 3), [round(x, 3) for x in v["interval"]]) for k, v in diffs.items()}), flush=True)
    for key in measures.KEYS:
        print("  spearman new/old", key, round(float(__import__("scipy.stats").stats.spearmanr(table[key], base_table[key], nan_policy="omit").statistic), 3))
json.dump(out, open(f"runs/h21/compare-{'-'.join(sys.argv[1:])}.json", "w"), indent=1, default=float)

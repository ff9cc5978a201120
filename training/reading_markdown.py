"""The model card's tables of ``python -m training reading_report`` (``reading.md``)."""

from mri import CLASSES, measures

NAMES = {"network": "network (ResNet50, mean of its slices' 1 − P(No Impairment))",
         "linear_baseline": "linear pixel baseline (PCA + logistic regression)",
         "combined": "combined: network logit + the four measures, stacked (nested CV)",
         "positional_pooling": "network, pooled by band third (lower/middle/upper), stacked (nested CV)"}


def _interval(row):
    return f"{row['auc']:.3f} ({row['interval'][0]:.2f}–{row['interval'][1]:.2f})"


def _ece(row):
    return f"{row['ece']:.3f}" if "ece" in row else "–"


def _name(key):
    return NAMES.get(key) or f"{measures.BY_KEY[key].label} (`{key}`) alone, nothing fitted"


def any_impairment_lines(report):
    study = report["any_impairment_per_person"]
    lines = [f"Any impairment per person ({study['people']} people, {study['impaired']} impaired; 95% bootstrap "
             "intervals over people):", "", "| reading | AUC (95% interval) | ECE (10 bins) |", "| --- | --- | --- |"]
    for key, row in study["rows"].items():
        lines.append(f"| {_name(key)} | {_interval(row)} | {_ece(row)} |")
    gain = study["combined_gain_over_network"]
    pos = study["positional_gain_over_network"]
    lines += ["", f"Combined minus network, paired bootstrap over people: **{gain['gain']:+.3f}** "
              f"(95% interval {gain['interval'][0]:+.3f} to {gain['interval'][1]:+.3f}; above 0 in "
              f"{gain['share_of_draws_above_0']:.0%} of draws). The combined estimate "
              + ("**is shipped** as the app's any-impairment probability." if study["combined_ships"]
                 else "does **not** beat the network: the network's estimate is kept."),
              f"Pooling the network by band third minus its plain mean: {pos['gain']:+.3f} "
              f"({pos['interval'][0]:+.3f} to {pos['interval'][1]:+.3f}).", ""]
    per_slice = report["any_impairment_per_slice"]
    lines += ["Per slice (a single-slice upload; intervals drawing whole people):", "",
              "| reading | AUC (95% interval) | ECE (10 bins) |", "| --- | --- | --- |"]
    for key, row in per_slice.items():
        lines.append(f"| {NAMES[key]} | {_interval(row)} | {_ece(row)} |")
    return lines


def headline_lines(name, figures):
    nested = figures["nested"]
    lines = [f"Headlines, {name} ({figures['readings']} readings; each fold's rule chosen on the other folds). "
             f"The plain likeliest grade is right for {figures['argmax_right']:.1%}.", "",
             "| headline | given | right |", "| --- | --- | --- |"]
    for grade in CLASSES + ("any grade",):
        row = nested[grade]
        right = "–" if row["right"] is None else f"{row['right']:.1%}"
        lines.append(f"| {grade} | {row['given']} | {right} |")
    unsure = nested["cannot_tell"]
    truth = ", ".join(f"{c} {n}" for c, n in unsure["true_classes"].items()) or "none"
    lines.append(f"| cannot tell (close {unsure['reasons']['close']}, disagree {unsure['reasons']['disagree']}) "
                 f"| {unsure['given']} | truly: {truth} |")
    return lines + [""]


def reference_lines(reference):
    groups = list(CLASSES) + [measures.ANY_IMPAIRMENT]
    lines = ["Reference ranges stored in the checkpoint (training people; median (quartiles)):", "",
             "| measure | " + " | ".join(groups) + " |", "| --- |" + " --- |" * len(groups)]
    for key, by_group in reference.items():
        cells = [f"{g['median']:.3f} ({g['q1']:.3f}–{g['q3']:.3f}), n {g['n']}" if (g := by_group.get(name)) else "–"
                 for name in groups]
        lines.append(f"| {measures.BY_KEY[key].label} | " + " | ".join(cells) + " |")
    return lines + [""]


def markdown(report):
    rule = report["headline_rule"]
    lines = any_impairment_lines(report) + [""]
    lines += [f"Headline rule chosen on all out-of-fold people: a grade needs a lead of {rule['min_margin']:.2f} over "
              f"the runner-up; No Impairment needs P(any impairment) below {rule['no_impairment_below']:.2f}, an "
              f"impaired grade at least {rule['impaired_from']:.2f}.", ""]
    lines += headline_lines("per person", report["headline_per_person"])
    lines += headline_lines("per slice", report["headline_per_slice"])
    lines += reference_lines(report["measures_reference"])
    return "\n".join(lines) + "\n"

"""Machine learning for AlzAware: plain Python that knows nothing of requests or the ORM."""

CLASSES = (
    "No Impairment",
    "Very Mild Impairment",
    "Mild Impairment",
    "Moderate Impairment",
)


def percentages(probabilities):
    """``{class name: 0..1}`` -> ``{class name: "12.34%"}`` in output order, as the API and ``analyze`` give it."""
    return {name: f"{float(probabilities.get(name, 0.0)) * 100:.2f}%" for name in CLASSES}


def any_impairment(probabilities):
    """``{class name: 0..1}`` -> the probability of any grade above No Impairment."""
    return min(max(1.0 - float(probabilities.get(CLASSES[0], 0.0)), 0.0), 1.0)

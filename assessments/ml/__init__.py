"""Machine learning for AlzAware: plain Python that knows nothing of requests or the ORM."""

CLASSES = (
    "No Impairment",
    "Very Mild Impairment",
    "Mild Impairment",
    "Moderate Impairment",
)

"""What a patient agrees to at sign-up: the privacy notice (templates/privacy.html), by version.

Raise PRIVACY_VERSION with every change of the notice that changes what a patient agrees to: each patient's
record keeps the version they saw (``Patient.consent_version``) and when they agreed (``consent_at``).
"""

PRIVACY_VERSION = "2026-12-04"

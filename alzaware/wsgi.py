"""WSGI entry point. The model is loaded (and its hash checked) here, once per
process, so a bad checkpoint stops the server at start, not at the first upload."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alzaware.settings")

application = get_wsgi_application()

from assessments.services import analyzer  # noqa: E402

analyzer()

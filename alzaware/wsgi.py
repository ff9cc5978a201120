"""WSGI entry point. The model is loaded (and its hash checked) here, once per
process, so a bad checkpoint stops the server at start, not at the first upload;
its out-of-distribution detector is built here too, not during a patient's upload."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alzaware.settings")

application = get_wsgi_application()

from alzaware.serving import refuse_development_key  # noqa: E402

# Whatever loads this module serves people: no start without SECRET_KEY when DEBUG is off.
refuse_development_key()

from assessments.services import current_engine  # noqa: E402
from mri.inference.ood import detector_for  # noqa: E402

detector_for(current_engine())

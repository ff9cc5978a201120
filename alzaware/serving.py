"""What a process that serves people checks before it answers anyone.

The WSGI and ASGI applications call :func:`refuse_development_key` when they are created, so gunicorn,
``manage.py runserver`` and any ASGI server refuse to start with the development key while DEBUG is off, and
nothing else (a management command, a script reading the settings) has to guess whether it serves people.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def refuse_development_key():
    if not settings.DEBUG and settings.SECRET_KEY == settings.DEVELOPMENT_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see docs/deploying.md).")

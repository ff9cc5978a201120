"""
ASGI config for alzaware project.

It exposes the ASGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/asgi/
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'alzaware.settings')

application = get_asgi_application()

from alzaware.serving import refuse_development_key  # noqa: E402

refuse_development_key()

"""WSGI entry point (gunicorn routing_portal.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "routing_portal.settings")
application = get_wsgi_application()

"""Settings for the test suite: production settings, as deployed, with a test secret key.

pytest-django loads this module (pyproject.toml). DEBUG is off as in production; the only
differences are the key, which no deployment shares, and no HTTPS redirect, since the test
client speaks plain HTTP (tests/core/test_deploy.py turns the redirect on to test it).
"""

from __future__ import annotations

import os

os.environ["DJANGO_DEBUG"] = "0"
os.environ["DJANGO_SECRET_KEY"] = "test-only-secret-key-never-used-by-a-deployment-0123456789"
os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "0"

from routing_portal.settings import *  # noqa: F403

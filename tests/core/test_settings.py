"""Production is the default: DEBUG off, a secret key required, the deploy checklist clean."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off." in result.stderr
    assert "DJANGO_DEBUG=1" in result.stderr  # and says how to run locally instead


def test_with_nothing_set_the_portal_runs_as_production():
    # No DJANGO_DEBUG: production, so no silent development key either.
    result = manage("check")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off." in result.stderr

    debug = "from django.conf import settings; print('DEBUG', settings.DEBUG)"
    result = manage("shell", "-c", debug, DJANGO_SECRET_KEY="k" * 50)
    assert result.returncode == 0, result.stderr
    assert "DEBUG False" in result.stdout


def test_debug_only_when_asked_as_make_run_does():
    debug = "from django.conf import settings; print('DEBUG', settings.DEBUG)"
    result = manage("shell", "-c", debug, DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert "DEBUG True" in result.stdout


def test_the_suite_itself_runs_as_deployed(settings):
    # routing_portal/test_settings.py: the production settings with a test key, not DEBUG.
    assert settings.SECRET_KEY.startswith("test-only-")
    assert not settings.DEBUG
    assert (
        settings.STORAGES["staticfiles"]["BACKEND"]
        == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE


def test_deploy_checklist_is_clean_with_production_settings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="x" * 20 + "-production-secret-" + "y" * 20,
        DJANGO_ALLOWED_HOSTS="routing.example.com",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://routing.example.com",
        DJANGO_SECURE_PROXY_SSL_HEADER="1",
        DJANGO_SECURE_SSL_REDIRECT="1",
        DJANGO_SECURE_HSTS_SECONDS="31536000",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_checklist_is_clean_in_process_with_the_redirect_on(settings):
    # The suite's settings are production's except the HTTPS redirect: with it on, as deployed,
    # `check --deploy` raises no warning at all.
    settings.SECURE_SSL_REDIRECT = True
    call_command("check", "--deploy", fail_level="WARNING", stdout=StringIO())

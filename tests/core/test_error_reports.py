"""Error pages and error mails never show a credential from the settings or the environment."""

from __future__ import annotations

import sys

import pytest
from django.test import RequestFactory
from django.views.debug import (
    ExceptionReporter,
    get_default_exception_reporter_filter,
    technical_500_response,
)

from apps.core.error_reports import CredentialsMaskingReporterFilter, url_credentials_mask

PASSWORD = "s3cr3t-pw-4711"
DATABASE_URL = f"postgres://routing:{PASSWORD}@db.internal:5432/routing"
REDIS_URL = f"redis://:{PASSWORD}@redis.internal:6379/0"


@pytest.fixture
def deployed(settings):  # type: ignore[no-untyped-def]
    """Connection settings as a production deployment holds them, credentials included."""
    settings.DATABASE_URL = DATABASE_URL
    settings.REDIS_URL = REDIS_URL
    settings.CELERY_BROKER_URL = REDIS_URL
    settings.CELERY_RESULT_BACKEND = REDIS_URL
    settings.CACHES = {
        **settings.CACHES,
        "sessions": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        },
    }
    settings.EMAIL_HOST_PASSWORD = PASSWORD
    settings.SENTRY_DSN = f"https://public:{PASSWORD}@sentry.example.com/4"
    settings.ROUTING_UPSTREAM_CRM = {"endpoints": [f"https://sync:{PASSWORD}@crm.example.com/api"]}
    return settings


def _error_report() -> tuple[str, str]:
    """The technical 500 page and the error mail's text for an error in a view."""
    # runserver copies the process environment into request.META.
    request = RequestFactory().get("/api/leads/", DATABASE_URL=DATABASE_URL, REDIS_URL=REDIS_URL)
    dsn = DATABASE_URL  # a connection string in a local variable of the failing frame
    try:
        raise RuntimeError(f"could not connect to {dsn.split('@')[-1]}")
    except RuntimeError:
        exc_info = sys.exc_info()
    html = technical_500_response(request, *exc_info).content.decode()
    text = ExceptionReporter(request, *exc_info, is_email=True).get_traceback_text()
    return html, text


def test_the_portal_uses_the_masking_filter():
    assert isinstance(get_default_exception_reporter_filter(), CredentialsMaskingReporterFilter)


def test_safe_settings_hold_no_credentials(deployed):
    safe = get_default_exception_reporter_filter().get_safe_settings()
    assert PASSWORD not in repr(safe)
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_HOST_PASSWORD"):
        assert safe[name] == CredentialsMaskingReporterFilter.cleansed_substitute
    assert safe["DATABASES"] == CredentialsMaskingReporterFilter.cleansed_substitute
    assert safe["CACHES"] == CredentialsMaskingReporterFilter.cleansed_substitute
    # Only the password of a URL under another name goes: the rest still helps debugging.
    assert safe["ROUTING_UPSTREAM_CRM"] == {
        "endpoints": ["https://********************@crm.example.com/api"]
    }
    assert safe["TIME_ZONE"] == "UTC"


@pytest.mark.parametrize("debug", [True, False], ids=["debug-page", "production-mail"])
def test_error_pages_and_mails_hold_no_credentials(deployed, debug):
    deployed.DEBUG = debug
    html, text = _error_report()
    for report in (html, text):
        assert "RuntimeError" in report
        assert "DATABASE_URL" in report  # listed, masked
        assert PASSWORD not in report


def test_url_credentials_mask_keeps_urls_without_credentials():
    assert url_credentials_mask("https://crm.example.com/a@b") == "https://crm.example.com/a@b"
    assert (
        url_credentials_mask(f"see {DATABASE_URL} and {REDIS_URL}")
        == "see postgres://********************@db.internal:5432/routing and "
        "redis://********************@redis.internal:6379/0"
    )

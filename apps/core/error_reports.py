"""What error pages and error mails may show: settings and request data without credentials."""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest
from django.utils.regex_helper import _lazy_re_compile
from django.views.debug import SafeExceptionReporterFilter

# The user-information part of a URL: `user:password@` in postgres://user:password@db/routing.
URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://)[^/@\s]+@", flags=re.IGNORECASE)


def url_credentials_mask(text: str) -> str:
    """`text` with the user and password of every URL in it replaced by stars."""
    return URL_CREDENTIALS.sub(
        lambda match: f"{match['scheme']}{SafeExceptionReporterFilter.cleansed_substitute}@",
        text,
    )


class CredentialsMaskingReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, plus the settings that hold connection strings and any URL's password.

    Django hides settings named like API, AUTH, TOKEN, KEY, SECRET, PASS, SIGNATURE; here the
    connection settings are named *_URL (DATABASE_URL, REDIS_URL, CELERY_BROKER_URL), CACHES
    and DATABASES hold LOCATION and connection entries, and a DSN is a URL too. A string
    anywhere else that still carries `user:password@` has that part masked.
    """

    hidden_settings = _lazy_re_compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE"
        "|URL|URI|DSN|LOCATION|DATABASES|CACHES|BROKER",
        flags=re.IGNORECASE,
    )

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        return url_credentials_mask(cleansed) if isinstance(cleansed, str) else cleansed

    def cleanse_special_types(self, request: HttpRequest | None, value: Any) -> Any:
        # A traceback's local variables: a connection string there is masked like a setting.
        cleansed = super().cleanse_special_types(request, value)
        return url_credentials_mask(cleansed) if isinstance(cleansed, str) else cleansed

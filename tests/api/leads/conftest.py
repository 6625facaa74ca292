"""Role clients for the lead API tests: a rep (rita), another rep (otto), an integration user."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import RepFactory, UserFactory


def token_client(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def rita(db):  # type: ignore[no-untyped-def]
    return RepFactory(user=UserFactory(username="rita"))


@pytest.fixture
def otto(db):  # type: ignore[no-untyped-def]
    return RepFactory(user=UserFactory(username="otto"))


@pytest.fixture
def rita_client(rita) -> APIClient:  # type: ignore[no-untyped-def]
    return token_client(rita.user)


@pytest.fixture
def integration_client(db) -> APIClient:  # type: ignore[no-untyped-def]
    user = UserFactory(username="webform")
    user.user_permissions.add(
        Permission.objects.get(codename="add_lead", content_type__app_label="leads")
    )
    return token_client(user)

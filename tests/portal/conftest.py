"""Role fixtures for the pages: two reps (rita, otto), a manager, an integration account."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import LeadFactory, RepFactory, UserFactory


@pytest.fixture
def rita(db):  # type: ignore[no-untyped-def]
    return RepFactory(user=UserFactory(username="rita"), time_zone="America/Los_Angeles")


@pytest.fixture
def otto(db):  # type: ignore[no-untyped-def]
    return RepFactory(user=UserFactory(username="otto"), time_zone="Europe/Berlin")


def client_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf_post(client: Client, url: str, data: dict | None = None, **extra):  # type: ignore[no-untyped-def,type-arg]
    """POST the way a browser does: with the CSRF token the pages hand out."""
    token = "a" * 32  # a cookie secret and the same token in the form, as a page hands out
    client.cookies["csrftoken"] = token
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": token}, **extra)


@pytest.fixture
def rita_client(rita) -> Client:  # type: ignore[no-untyped-def]
    return client_for(rita.user)


@pytest.fixture
def otto_client(otto) -> Client:  # type: ignore[no-untyped-def]
    return client_for(otto.user)


@pytest.fixture
def boss_client(boss) -> Client:  # type: ignore[no-untyped-def]
    return client_for(boss)


@pytest.fixture
def webform_client(webform) -> Client:  # type: ignore[no-untyped-def]
    return client_for(webform)


def lead_of(rep, status="assigned", **fields):  # type: ignore[no-untyped-def]
    return LeadFactory(owner=rep, status=status, **fields)

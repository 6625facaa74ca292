"""The rule admin tests' shared roles: a signed-in manager, and a client per other role."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client


@pytest.fixture
def manager(db):  # type: ignore[no-untyped-def]
    user = User.objects.create_user("boss", "boss@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="RevOps managers"))
    client = Client()
    client.force_login(user)
    return client


def client_for(role: str, west_org, *rule_permissions: str) -> Client:  # type: ignore[no-untyped-def]
    """A client signed in as a rep (with a stray staff flag), an integration account (may submit
    leads, plus ``rule_permissions`` on rules: a grant that must still open no admin page), or
    nobody ("anonymous")."""
    client = Client()
    if role == "rep":
        rep_user = west_org["reps"][0].user
        rep_user.is_staff = True  # a staff flag left on a rep opens nothing
        rep_user.save()
        client.force_login(rep_user)
    elif role == "integration":
        user = User.objects.create_user("webform", "webform@example.com", "pw", is_staff=True)
        user.user_permissions.add(
            Permission.objects.get(codename="add_lead", content_type__app_label="leads"),
            *(
                Permission.objects.get(codename=codename, content_type__app_label="rules")
                for codename in rule_permissions
            ),
        )
        client.force_login(user)
    return client

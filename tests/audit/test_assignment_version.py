""" "Under which rules was this lead routed?": each assignment names the configuration version
that decided it, in the API and in the lead's admin page (linked to what changed since)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_the_assignment_history_names_the_deciding_version(quarter, boss) -> None:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(boss)
    lead = quarter["leads"]["L1"]
    rows = client.get(f"/api/leads/{lead.pk}/assignments/").json()
    rows = rows["results"] if isinstance(rows, dict) else rows
    assert [(r["rule"], r["config_version"]) for r in rows] == [
        ("Enterprise", quarter["v2"].number)
    ]


def test_the_lead_admin_links_the_deciding_version(quarter, boss_client, boss) -> None:  # type: ignore[no-untyped-def]
    boss.is_superuser = True
    boss.save()
    lead = quarter["leads"]["L1"]
    html = boss_client.get(f"/admin/leads/lead/{lead.pk}/change/").content.decode()
    number = quarter["v2"].number
    html = " ".join(html.split())
    assert "Decided by configuration version <a " in html
    assert f'<a href="/audit/versions/diff/?from={number}">What changed since v{number}</a>' in html

"""Sign-off: a manager records "reviewed by … on … with notes" for a window; it shows on the
page and in the CSV, and it can never be changed or deleted, by code, the ORM or the admin."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditSignOff
from apps.audit.services import audit_sign_off
from apps.core.models import ImmutableRecordError
from apps.core.windows import DateWindow
from tests.audit.conftest import API, AUDIT

pytestmark = pytest.mark.django_db

Q2 = DateWindow(
    start=timezone.datetime(2026, 4, 1).date(), end=timezone.datetime(2026, 6, 30).date()
)
WINDOW = "start=2026-04-01&end=2026-06-30"


def test_signing_off_from_the_page(boss, boss_client) -> None:  # type: ignore[no-untyped-def]
    response = boss_client.post(
        "/audit/sign-off/", {"start": "2026-04-01", "end": "2026-06-30", "notes": "Dead rules: 2"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{AUDIT}?{WINDOW}"
    row = AuditSignOff.objects.get()
    assert (row.start, row.end, row.reviewed_by, row.notes) == (
        Q2.start,
        Q2.end,
        boss,
        "Dead rules: 2",
    )
    html = boss_client.get(f"{AUDIT}?{WINDOW}", follow=True).content.decode()
    assert "Reviewed by <strong>boss</strong>" in html and "Dead rules: 2" in html
    # Another window has its own sign-offs.
    assert (
        "has not been signed off"
        in boss_client.get(f"{AUDIT}?start=2026-04-01&end=2026-06-29").content.decode()
    )


def test_the_sign_off_is_in_the_csv_and_the_json(boss, boss_client) -> None:  # type: ignore[no-untyped-def]
    audit_sign_off(actor=boss, window=Q2, notes="=cmd|' /C calc'!A0")
    body = boss_client.get(f"{API}?format=csv&{WINDOW}").content.decode()
    last = body.strip().splitlines()[-1].split(",")
    assert last[:3] == ["2026-04-01", "2026-06-30", "boss"]
    assert last[4].startswith("'=cmd")  # a formula is quoted, not run
    sign_offs = boss_client.get(f"{API}?{WINDOW}").json()["sign_offs"]
    assert [(s["reviewed_by"], s["notes"]) for s in sign_offs] == [("boss", "=cmd|' /C calc'!A0")]


def test_signing_off_through_the_api(boss) -> None:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(boss)
    created = client.post(
        "/api/audit/sign-offs/",
        {"start": "2026-04-01", "end": "2026-06-30", "notes": "ok"},
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["reviewed_by"] == "boss" and created.json()["config_version"] is None
    listed = client.get(f"/api/audit/sign-offs/?{WINDOW}").json()
    assert [s["notes"] for s in listed["sign_offs"]] == ["ok"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"end": "2026-06-30"}, "start"),
        ({"start": "2026-04-01", "end": "soon"}, "end"),
        ({"start": "2026-06-30", "end": "2026-04-01"}, "end"),
        ({"start": "2026-04-01", "end": "2026-06-30", "notes": "x" * 5001}, "notes"),
    ],
)
def test_a_bad_sign_off_is_a_400_naming_the_field_and_saves_nothing(
    boss, boss_client, data, field
) -> None:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(boss)
    response = client.post("/api/audit/sign-offs/", data, format="json")
    assert response.status_code == 400 and field in response.json()
    page = boss_client.post("/audit/sign-off/", data, follow=True)
    assert "Not signed off" in page.content.decode()
    assert AuditSignOff.objects.count() == 0


def test_a_sign_off_cannot_be_edited_or_deleted(boss) -> None:  # type: ignore[no-untyped-def]
    row = audit_sign_off(actor=boss, window=Q2, notes="reviewed")
    row.notes = "rewritten"
    with pytest.raises(ImmutableRecordError):
        row.save()
    with pytest.raises(ImmutableRecordError):
        row.delete()
    with pytest.raises(ImmutableRecordError):
        AuditSignOff.objects.filter(pk=row.pk).update(notes="rewritten")
    with pytest.raises(ImmutableRecordError):
        AuditSignOff.objects.all().delete()
    assert AuditSignOff.objects.get().notes == "reviewed"


def test_the_admin_offers_no_way_to_change_a_sign_off(boss, boss_client) -> None:  # type: ignore[no-untyped-def]
    row = audit_sign_off(actor=boss, window=Q2, notes="reviewed")
    boss.is_superuser = True
    boss.save()
    assert boss_client.get(f"/admin/audit/auditsignoff/{row.pk}/change/").status_code in (302, 404)
    assert boss_client.get(f"/admin/audit/auditsignoff/{row.pk}/delete/").status_code in (302, 404)
    assert AuditSignOff.objects.get().notes == "reviewed"


@pytest.mark.parametrize("path", ["/api/audit/sign-offs/", "/api/audit/versions/1/restore/"])
def test_a_body_that_is_not_an_object_is_a_400(boss, path) -> None:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(boss)
    response = client.post(path, [1, 2], format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Expected a JSON object."]}

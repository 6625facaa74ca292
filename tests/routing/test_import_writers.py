"""The import's lead writer: the PostgreSQL statement and the ORM save the same rows, and a key
taken meanwhile (another import won the race) is skipped by the statement."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.forms.models import model_to_dict

from apps.leads.models import Lead
from apps.routing.intake import lead_build, lead_rows
from apps.routing.writers import POSTGRES_WRITERS, writers_current
from tests.routing.conftest import WRITER_PATHS

pytestmark = pytest.mark.django_db

DATA = {
    "email": "Dana@Acme.com",
    "first_name": "Dana",
    "company": "Acme",
    "country": "US",
    "region": "US-CA",
    "company_size": 1200,
    "annual_revenue": Decimal("1250000.50"),
    "lead_score": 80,
    "created_at": datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
    "extra": {"plan": "pro", "seats": 12, "tags": ["a", "b"]},
}


@pytest.mark.parametrize("single_statement", WRITER_PATHS)
def test_both_writers_save_the_same_lead(single_statement, pin_writers):
    pin_writers(single_statement)
    account = User.objects.create(username="lead-import", is_active=False)
    leads = [
        lead_build(data={**DATA, "external_id": "k1"}, submitted_by=account),
        lead_build(data={"email": "b@x.io", "external_id": "k2"}, submitted_by=account),
    ]
    ids = writers_current().leads.insert(leads)
    assert ids == [lead.pk for lead in leads] and None not in ids
    saved = Lead.objects.get(pk=ids[0])
    row = model_to_dict(saved, exclude=["id"])
    assert row == {
        **model_to_dict(Lead(**{**DATA, "email": "dana@acme.com"}), exclude=["id"]),
        "external_id": "k1",
        "status": "new",
    }
    assert (saved.email_domain, saved.submitted_by_id) == ("acme.com", account.pk)
    assert saved.updated_at is not None
    assert Lead.objects.get(pk=ids[1]).extra == {}


@pytest.mark.postgres
def test_the_statement_skips_a_key_saved_meanwhile():
    account = User.objects.create(username="lead-import", is_active=False)
    Lead.objects.create(email="a@x.io", external_id="k1", submitted_by=account)
    leads = [
        lead_build(data={"email": "a2@x.io", "external_id": "k1"}, submitted_by=account),
        lead_build(data={"email": "b@x.io", "external_id": "k2"}, submitted_by=account),
    ]
    ids = POSTGRES_WRITERS.leads.insert(leads)
    assert ids[0] is None and ids[1] == leads[1].pk
    assert sorted(Lead.objects.values_list("email", flat=True)) == ["a@x.io", "b@x.io"]


def test_lead_rows_are_the_values_lead_build_gives():
    """The import saves `lead_rows` (no model instance per lead): the same values as
    `lead_build`, defaults included, each lead with an `extra` of its own."""
    account = User.objects.create(username="lead-import", is_active=False)
    datas = [
        {**DATA, "external_id": "k1"},
        {"email": " B@X.io ", "external_id": ""},
        {"email": "c@y.io", "created_at": DATA["created_at"]},
    ]
    rows = lead_rows(datas=datas, submitted_by=account)
    for data, row in zip(datas, rows, strict=True):
        built = lead_build(data=dict(data), submitted_by=account)
        expected = {
            field.attname: getattr(built, field.attname)
            for field in Lead._meta.concrete_fields
            if not field.primary_key
        }
        if "created_at" not in data:  # the model's default: now, for the batch
            assert abs(row["created_at"] - expected["created_at"]).total_seconds() < 5
            row = {**row, "created_at": expected["created_at"]}
        assert row == expected
    assert rows[1]["extra"] is not rows[2]["extra"]
    with pytest.raises(TypeError):
        lead_rows(datas=[{"email": "a@b.io", "not_a_field": 1}], submitted_by=account)


@pytest.mark.parametrize("single_statement", WRITER_PATHS)
def test_both_writers_save_the_same_rows(single_statement, pin_writers):
    pin_writers(single_statement)
    account = User.objects.create(username="lead-import", is_active=False)
    rows = lead_rows(
        datas=[{**DATA, "external_id": "k1"}, {"email": "b@x.io", "external_id": "k2"}],
        submitted_by=account,
    )
    ids = writers_current().leads.insert_rows(rows)
    assert None not in ids
    saved = Lead.objects.get(pk=ids[0])
    assert model_to_dict(saved, exclude=["id"]) == {
        **model_to_dict(Lead(**{**DATA, "email": "dana@acme.com"}), exclude=["id"]),
        "external_id": "k1",
        "status": "new",
    }
    assert (saved.email_domain, saved.submitted_by_id) == ("acme.com", account.pk)
    assert saved.updated_at is not None
    assert Lead.objects.get(pk=ids[1]).extra == {}

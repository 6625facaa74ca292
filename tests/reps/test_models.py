"""Model validation a manager meets in the admin: clear messages, nothing saved."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.accounts.models import Account
from apps.leads.models import Lead
from apps.reps.models import Rep, TimeOff, WorkingHours
from apps.territories.models import Territory
from tests.factories import RepFactory, TerritoryFactory, UserFactory

pytestmark = pytest.mark.django_db


def messages(exc: ValidationError) -> dict[str, list[str]]:
    return exc.value.message_dict  # type: ignore[attr-defined,no-any-return]


def test_territory_rejects_unknown_country_and_region():
    territory = Territory(
        code="MARS", name="Mars", countries=["US", "XX"], regions=["US-CA", "US-ZZ"]
    )
    with pytest.raises(ValidationError) as exc:
        territory.full_clean()
    errors = messages(exc)
    assert errors["countries"] == ["'XX' is not an ISO 3166-1 alpha-2 code."]
    assert errors["regions"] == ["'US-ZZ' is not an ISO 3166-2 code."]


def test_territory_accepts_real_codes_and_bad_code_format_is_explained():
    Territory(
        code="DACH", name="DACH", countries=["DE", "AT", "CH"], regions=["DE-BY"]
    ).full_clean()
    with pytest.raises(ValidationError) as exc:
        Territory(code="us west", name="x").full_clean()
    assert "upper-case" in messages(exc)["code"][0]


def test_territory_parent_cycle_is_refused():
    root = TerritoryFactory(code="ROOT")
    child = TerritoryFactory(code="CHILD", parent=root)
    root.parent = child
    with pytest.raises(ValidationError) as exc:
        root.full_clean()
    assert "cycle" in messages(exc)["parent"][0]


def test_rep_rejects_bad_time_zone_and_language():
    rep = Rep(user=UserFactory(), time_zone="Mars/Olympus_Mons", languages=["en", "zz"])
    with pytest.raises(ValidationError) as exc:
        rep.full_clean()
    errors = messages(exc)
    assert errors["time_zone"] == ["'Mars/Olympus_Mons' is not an IANA time zone."]
    assert errors["languages"] == ["'zz' is not an ISO 639-1 code."]


def test_negative_capacity_is_refused_by_validation_and_by_the_database():
    rep = Rep(user=UserFactory(), max_open_leads=-1)
    with pytest.raises(ValidationError) as exc:
        rep.full_clean()
    assert "max_open_leads" in messages(exc)
    with pytest.raises(IntegrityError), transaction.atomic():
        Rep.objects.create(user=UserFactory(), max_daily_leads=-5)


def test_overlapping_time_off_is_refused_with_the_clashing_dates():
    rep = RepFactory()
    TimeOff.objects.create(
        rep=rep,
        starts_at=datetime(2026, 12, 21, tzinfo=UTC),
        ends_at=datetime(2027, 1, 4, tzinfo=UTC),
    )
    clash = TimeOff(
        rep=rep,
        starts_at=datetime(2027, 1, 1, tzinfo=UTC),
        ends_at=datetime(2027, 1, 10, tzinfo=UTC),
    )
    with pytest.raises(ValidationError) as exc:
        clash.full_clean()
    assert exc.value.messages == [
        "Overlaps existing time off 2026-12-21 00:00 to 2027-01-04 00:00 UTC."
    ]
    # Back to back is fine.
    TimeOff(
        rep=rep,
        starts_at=datetime(2027, 1, 4, tzinfo=UTC),
        ends_at=datetime(2027, 1, 10, tzinfo=UTC),
    ).full_clean()


def test_time_off_must_end_after_it_starts():
    rep = RepFactory()
    period = TimeOff(
        rep=rep,
        starts_at=datetime(2027, 1, 4, tzinfo=UTC),
        ends_at=datetime(2027, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(ValidationError) as exc:
        period.full_clean()
    assert "Time off must end after it starts." in exc.value.messages


def test_working_hours_weekdays_are_checked():
    rep = RepFactory()
    hours = WorkingHours(rep=rep, weekdays=[0, 7], start=time(9), end=time(17))
    with pytest.raises(ValidationError) as exc:
        hours.full_clean()
    assert "0 (Monday) to 6 (Sunday)" in messages(exc)["weekdays"][0]


def test_lead_score_and_working_status_constraints_hold_in_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.create(email="a@b.com", lead_score=150)
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.create(email="a@b.com", status="assigned")


def test_external_id_is_unique_per_submitting_account():
    source, other = UserFactory(), UserFactory()
    Lead.objects.create(email="a@b.com", external_id="crm-1", submitted_by=source)
    Lead.objects.create(email="a@b.com", external_id="crm-1", submitted_by=other)
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.create(email="c@d.com", external_id="crm-1", submitted_by=source)


def test_account_domain_must_be_a_domain():
    with pytest.raises(ValidationError) as exc:
        Account(domain="not a domain", name="X").full_clean()
    assert "domain" in messages(exc)

"""A rep's own availability: away, time off in their own zone (no overlaps), working hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apps.configuration.models import RoutingConfigVersion
from apps.reps.models import TimeOff, TimeOffSource
from tests.factories import TimeOffFactory, WorkingHoursFactory
from tests.portal.conftest import csrf_post

pytestmark = pytest.mark.django_db


def _book(client, starts: str, ends: str, reason: str = "vacation", note: str = ""):  # type: ignore[no-untyped-def]
    return csrf_post(
        client,
        "/availability/",
        {"starts_at": starts, "ends_at": ends, "reason": reason, "note": note},
    )


def test_page_explains_what_each_setting_does(rita, rita_client) -> None:
    WorkingHoursFactory(rep=rita, weekdays=[0, 1, 2, 3, 4], start="08:00", end="16:30")
    body = rita_client.get("/availability/").content.decode()
    assert "America/Los_Angeles" in body
    assert 'name="start_0" value="08:00"' in body and 'name="end_4" value="16:30"' in body
    assert 'name="works_5"' in body and 'name="works_5" id="id_works_5" checked' not in body
    assert (
        "routing sends you no new leads" in body.lower() or "Routing sends you no new leads" in body
    )
    assert "Rules that respect working hours" in body


def test_away_and_back(rita, rita_client) -> None:
    response = csrf_post(rita_client, "/availability/away/", {"away": "1"})
    assert response["Location"] == "/availability/"
    rita.refresh_from_db()
    assert rita.away is True
    body = rita_client.get("/availability/").content.decode()
    assert "You are away" in body and "I'm back" in body
    csrf_post(rita_client, "/availability/away/", {"away": "0"})
    rita.refresh_from_db()
    assert rita.away is False
    # Each change is a configuration version, as through the API.
    assert RoutingConfigVersion.objects.filter(summary__contains="rita away").exists()


def test_away_with_nonsense_changes_nothing(rita, rita_client) -> None:
    response = csrf_post(rita_client, "/availability/away/", {"away": "maybe"})
    assert response.status_code == 302
    rita.refresh_from_db()
    assert rita.away is False


def test_time_off_is_read_in_the_reps_zone(rita, rita_client) -> None:
    response = _book(rita_client, "2031-01-10T09:00", "2031-01-12T18:00", note="Skiing")
    assert response.status_code == 302, response.content.decode()[-800:]
    period = TimeOff.objects.get(rep=rita)
    # Los Angeles is UTC-8 in January.
    assert period.starts_at == datetime(2031, 1, 10, 17, 0, tzinfo=UTC)
    assert period.ends_at == datetime(2031, 1, 13, 2, 0, tzinfo=UTC)
    assert period.reason == "vacation" and period.note == "Skiing"
    assert period.source == TimeOffSource.REP
    body = rita_client.get("/availability/").content.decode()
    assert "Fri 10 Jan 2031, 09:00" in body and "Skiing" in body


def test_overlapping_time_off_is_refused_in_words(rita, rita_client) -> None:
    _book(rita_client, "2031-01-10T09:00", "2031-01-12T18:00")
    response = _book(rita_client, "2031-01-12T08:00", "2031-01-14T18:00")
    assert response.status_code == 400
    assert "overlaps time off you already have" in response.content.decode()
    assert TimeOff.objects.filter(rep=rita).count() == 1


@pytest.mark.parametrize(
    ("starts", "ends", "error"),
    [
        ("2031-01-12T08:00", "2031-01-11T08:00", "The end must be after the start."),
        ("next tuesday", "2031-01-11T08:00", "Enter a valid date/time."),
        ("", "", "This field is required."),
    ],
)
def test_bad_time_off_is_a_form_error(rita, rita_client, starts, ends, error) -> None:
    response = _book(rita_client, starts, ends)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not TimeOff.objects.filter(rep=rita).exists()


def test_unknown_reason_is_a_form_error(rita, rita_client) -> None:
    response = _book(rita_client, "2031-01-10T09:00", "2031-01-12T18:00", reason="beach")
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()


def test_cancel_own_time_off(rita, rita_client) -> None:
    now = timezone.now()
    period = TimeOffFactory(
        rep=rita, starts_at=now + timedelta(days=3), ends_at=now + timedelta(days=4)
    )
    past = TimeOffFactory(
        rep=rita, starts_at=now - timedelta(days=9), ends_at=now - timedelta(days=8)
    )
    body = rita_client.get("/availability/").content.decode()
    assert f"/availability/time-off/{period.pk}/cancel/" in body
    assert f"/availability/time-off/{past.pk}/cancel/" not in body  # only what has not ended
    response = csrf_post(rita_client, f"/availability/time-off/{period.pk}/cancel/")
    assert response["Location"] == "/availability/"
    assert not TimeOff.objects.filter(pk=period.pk).exists()
    assert csrf_post(rita_client, f"/availability/time-off/{period.pk}/cancel/").status_code == 404


def test_current_time_off_is_named(rita, rita_client) -> None:
    now = timezone.now()
    TimeOffFactory(rep=rita, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1))
    assert "but on time off until" in rita_client.get("/availability/").content.decode()


def _hours(**days: tuple[str, str]) -> dict[str, str]:
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    data: dict[str, str] = {}
    for name, (start, end) in days.items():
        day = names.index(name)
        data.update({f"works_{day}": "on", f"start_{day}": start, f"end_{day}": end})
    return data


def test_set_own_working_hours(rita, otto, rita_client) -> None:
    WorkingHoursFactory(rep=otto, weekdays=[0], start="09:00", end="17:00")
    data = _hours(mon=("09:00", "17:00"), tue=("09:00", "17:00"), sat=("22:00", "02:00"))
    response = csrf_post(rita_client, "/availability/hours/", {**data, "rep": "otto"})
    assert response["Location"] == "/availability/"
    windows = sorted(
        (w.weekdays, f"{w.start:%H:%M}", f"{w.end:%H:%M}") for w in rita.working_hours.all()
    )
    assert windows == [([0, 1], "09:00", "17:00"), ([5], "22:00", "02:00")]
    assert otto.working_hours.count() == 1  # untouched
    assert RoutingConfigVersion.objects.filter(summary="reps: working hours of rita").exists()
    # Unticking every day leaves no hours: leads at any time.
    csrf_post(rita_client, "/availability/hours/", {})
    assert rita.working_hours.count() == 0


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"works_0": "on"}, "When do you start on Monday?"),
        ({"works_0": "on", "start_0": "09:00", "end_0": "09:00"}, "Start and end must differ."),
        ({"works_0": "on", "start_0": "9 o'clock", "end_0": "17:00"}, "Enter a valid time."),
    ],
)
def test_bad_working_hours_are_form_errors(rita, rita_client, data, error) -> None:
    WorkingHoursFactory(rep=rita, weekdays=[2], start="10:00", end="12:00")
    response = csrf_post(rita_client, "/availability/hours/", data)
    assert response.status_code == 400 and error in response.content.decode()
    assert [w.weekdays for w in rita.working_hours.all()] == [[2]]


def test_split_shifts_are_shown_not_edited(rita, rita_client) -> None:
    WorkingHoursFactory(rep=rita, weekdays=[0, 1], start="08:00", end="12:00")
    WorkingHoursFactory(rep=rita, weekdays=[0], start="14:00", end="18:00")
    body = rita_client.get("/availability/").content.decode()
    assert "Mon, Tue: 08:00 to 12:00" in body and "Mon: 14:00 to 18:00" in body
    assert "/availability/hours/" not in body

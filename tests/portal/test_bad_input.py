"""Hostile or odd input on the pages is a 404, a form error or a message: never a 500."""

from __future__ import annotations

import pytest

from tests.portal.conftest import csrf_post, lead_of

pytestmark = pytest.mark.django_db

BIG = "9" * 25  # beyond any database integer


def test_out_of_range_ids_are_404(rita_client, boss_client) -> None:
    assert rita_client.get(f"/queue/leads/{BIG}/").status_code == 404
    assert csrf_post(rita_client, f"/queue/leads/{BIG}/contact/").status_code == 404
    assert csrf_post(rita_client, f"/availability/time-off/{BIG}/cancel/").status_code == 404
    assert (
        csrf_post(
            boss_client, f"/queue/leads/{BIG}/reassign/", {"rep": "x", "note": "y"}
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    "value",
    [
        "\x00",
        "a" * 5000,
        "%",
        "' OR 1=1 --",
        "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
    ],
)
def test_odd_filters_and_search(rita, rita_client, boss_client, value) -> None:
    lead_of(rita)
    for params in ({"search": value}, {"territory": value, "lead_source": value, "status": value}):
        assert rita_client.get("/queue/", params).status_code == 200
        assert (
            boss_client.get("/queue/unrouted/", {**params, "escalated": value}).status_code == 200
        )


def test_odd_form_values(rita, rita_client, boss_client) -> None:
    lead = lead_of(rita)
    assert (
        csrf_post(
            rita_client, f"/queue/leads/{lead.pk}/contact/", {f"c{lead.pk}-note": "\x00"}
        ).status_code
        == 400
    )
    assert (
        csrf_post(
            boss_client, f"/queue/leads/{lead.pk}/reassign/", {"rep": "\x00", "note": "x"}
        ).status_code
        == 400
    )
    assert (
        csrf_post(
            rita_client,
            "/availability/",
            {"starts_at": "2031-02-30T09:00", "ends_at": "\x00", "reason": "vacation"},
        ).status_code
        == 400
    )
    assert (
        csrf_post(
            rita_client,
            "/availability/hours/",
            {"works_0": "on", "start_0": "25:00", "end_0": "\x00"},
        ).status_code
        == 400
    )
    assert (
        csrf_post(boss_client, "/queue/unrouted/reroute/", {"leads": ["9" * 18]}).status_code == 302
    )

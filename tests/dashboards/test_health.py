"""The routing-health strip: exact figures on a hand-built set of leads and moves, the previous
window's trend, each filter, an empty window, the strip on every dashboard, and query counts.

Window 2026-03-01..03 (UTC); the previous window is 2026-02-26..28.

Current window, 8 leads (owner at the end):
  c1 ann EU web   auto
  c2 ann EU web   auto to bob, then manual to ann 3 h later          (move, override)
  c3 bob US web   auto to ann, then reassign_inactivity to bob       (move)
  c4 bob US event auto to ann, then manual to bob 30 h later         (move; too late to override)
  c5 -   US web   unrouted
  c6 ann EU web   duplicate of c1
  c7 -   -  web   new, waiting since 03-03 23:00
  c8 ann US web   auto to bob, then reassign_unavailable to ann      (move)
  -> reroute 4/8 = 0.5, overrides 1/8 = 0.125, unrouted 1/8, duplicate 1/8.
Previous window, 4 leads:
  p1 ann EU web auto;  p2 ann EU web auto to bob, manual to ann 1 h later (move, override);
  p3 -   -  web unrouted;  p4 bob US web auto
  -> reroute 1/4 = 0.25, overrides 0.25, unrouted 0.25, duplicate 0.0.
Outside both: w1 (EU, 02-20 08:00) still new, the oldest waiting; o1 (02-20) moved by hand.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from apps.dashboards.filtersets import DateWindow
from apps.dashboards.health import routing_health
from apps.dashboards.registry import DASHBOARDS
from apps.leads.models import Lead
from apps.routing.models import Assignment
from tests.dashboards.conftest import health_queries, response_time_queries
from tests.factories import LeadFactory, RepFactory, TerritoryFactory, UserFactory

pytestmark = pytest.mark.django_db

WINDOW = "start=2026-03-01&end=2026-03-03"
API = "/api/dashboards/response-time/"


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def lead(created, owner=None, territory=None, status="assigned", source="web", **extra):  # type: ignore[no-untyped-def]
    return LeadFactory(
        created_at=created,
        owner=owner,
        territory=territory,
        status=status,
        lead_source=source,
        assigned_at=created if owner else None,
        **extra,
    )


def routed(moved, *steps):  # type: ignore[no-untyped-def]
    """steps: (rep, kind, hours after arrival); each ends the one before."""
    previous = None
    for rep, kind, hours in steps:
        began = moved.created_at + timedelta(hours=hours)
        if previous is not None:
            previous.ended_at = began
            previous.save(update_fields=["ended_at"])
        previous = Assignment.objects.create(
            lead=moved, rep=rep, kind=kind, reason="test", assigned_at=began
        )


@pytest.fixture
def boss_client(boss) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(boss)
    return client


@pytest.fixture
def moves(db):  # type: ignore[no-untyped-def]
    eu, us = TerritoryFactory(code="EU"), TerritoryFactory(code="US")
    ann = RepFactory(user=UserFactory(username="ann"))
    bob = RepFactory(user=UserFactory(username="bob"))

    c1 = lead(at(3, 1), ann, eu)
    routed(c1, (ann, "auto", 0))
    routed(lead(at(3, 1, 10), ann, eu), (bob, "auto", 0), (ann, "manual", 3))
    routed(lead(at(3, 2), bob, us), (ann, "auto", 0), (bob, "reassign_inactivity", 2))
    routed(lead(at(3, 2, 10), bob, us, source="event"), (ann, "auto", 0), (bob, "manual", 30))
    lead(at(3, 2, 13), None, us, status="unrouted")
    routed(lead(at(3, 3), ann, eu, status="duplicate", duplicate_of=c1), (ann, "duplicate", 0))
    lead(at(3, 3, 23), status="new")
    routed(lead(at(3, 3, 8), ann, us), (bob, "auto", 0), (ann, "reassign_unavailable", 5))

    routed(lead(at(2, 26), ann, eu), (ann, "auto", 0))
    routed(lead(at(2, 27), ann, eu), (bob, "auto", 0), (ann, "manual", 1))
    lead(at(2, 28), None, None, status="unrouted")
    routed(lead(at(2, 28, 12), bob, us), (bob, "auto", 0))

    lead(at(2, 20, 8), None, eu, status="new")
    routed(lead(at(2, 20), ann, eu), (bob, "auto", 0), (ann, "manual", 2))
    return {"ann": ann, "bob": bob}


def _health(client: Client, query: str = WINDOW) -> dict:  # type: ignore[type-arg]
    response = client.get(f"/api/dashboards/health/?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def _metrics(health: dict) -> dict:  # type: ignore[type-arg]
    return {m["key"]: m for m in health["metrics"]}


def _figures(health: dict) -> dict:  # type: ignore[type-arg]
    """key -> (count, value, previous count, previous value)"""
    return {
        key: (m["count"], m["value"], m["previous_count"], m["previous"])
        for key, m in _metrics(health).items()
    }


def test_figures_and_the_previous_window(boss_client, moves) -> None:  # type: ignore[no-untyped-def]
    health = _health(boss_client)
    assert health["window"] == {"start": "2026-03-01", "end": "2026-03-03"}
    assert health["previous_window"] == {"start": "2026-02-26", "end": "2026-02-28"}
    assert health["days"] == 3
    assert health["leads"] == {"value": 8, "previous": 4}
    assert _figures(health) == {
        "reroute_rate": (4, 0.5, 1, 0.25),
        "manual_override_rate": (1, 0.125, 1, 0.25),
        "unrouted_rate": (1, 0.125, 1, 0.25),
        "duplicate_rate": (1, 0.125, 0, 0.0),
    }


def test_trend_words(boss_client, moves) -> None:  # type: ignore[no-untyped-def]
    metrics = _metrics(_health(boss_client))
    trends = {k: (m["delta"], m["trend"], m["assessment"]) for k, m in metrics.items()}
    assert trends == {
        "reroute_rate": (0.25, "up", "worse"),
        "manual_override_rate": (-0.125, "down", "better"),
        "unrouted_rate": (-0.125, "down", "better"),
        "duplicate_rate": (0.125, "up", "worse"),
    }
    assert metrics["reroute_rate"]["target"] == 0.03
    assert metrics["unrouted_rate"]["target"] is None


def test_waiting_new_now(moves) -> None:  # type: ignore[no-untyped-def]
    health = routing_health(
        leads=Lead.objects.all(),
        window=DateWindow(date(2026, 3, 1), date(2026, 3, 3)),
        now=at(3, 4, 8),
    )
    # w1 arrived 02-20 08:00: 12 days before
    assert health["waiting_new"] == {"count": 2, "oldest_seconds": 12 * 86400.0}


def test_territory_filter(boss_client, moves) -> None:  # type: ignore[no-untyped-def]
    health = _health(boss_client, f"{WINDOW}&territory=EU")
    # c1 c2 c6 now, p1 p2 before; w1 waits in EU
    assert health["leads"] == {"value": 3, "previous": 2}
    assert _figures(health) == {
        "reroute_rate": (1, 0.3333, 1, 0.5),
        "manual_override_rate": (1, 0.3333, 1, 0.5),
        "unrouted_rate": (0, 0.0, 0, 0.0),
        "duplicate_rate": (1, 0.3333, 0, 0.0),
    }
    assert health["waiting_new"]["count"] == 1


def test_lead_source_filter_and_a_previous_window_without_leads(boss_client, moves) -> None:  # type: ignore[no-untyped-def]
    health = _health(boss_client, f"{WINDOW}&lead_source=EVENT")
    assert health["leads"] == {"value": 1, "previous": 0}
    reroute = _metrics(health)["reroute_rate"]
    assert (reroute["count"], reroute["value"], reroute["previous"]) == (1, 1.0, None)
    assert (reroute["delta"], reroute["trend"], reroute["assessment"]) == (None, None, None)
    assert health["waiting_new"]["count"] == 0


def test_rep_filter_keeps_what_a_rep_owns(boss_client, moves) -> None:  # type: ignore[no-untyped-def]
    health = _health(boss_client, f"{WINDOW}&rep={moves['bob'].pk}")
    # bob owns c3 and c4 (both moved to him) now, p4 before
    assert health["leads"] == {"value": 2, "previous": 1}
    assert _figures(health) == {
        "reroute_rate": (2, 1.0, 0, 0.0),
        "manual_override_rate": (0, 0.0, 0, 0.0),
        "unrouted_rate": (None, None, None, None),
        "duplicate_rate": (None, None, None, None),
    }
    assert health["waiting_new"] == {"count": None, "oldest_seconds": None}


def test_empty_windows(boss_client, moves) -> None:  # type: ignore[no-untyped-def]
    health = _health(boss_client, "start=2026-01-01&end=2026-01-02")
    assert health["previous_window"] == {"start": "2025-12-30", "end": "2025-12-31"}
    assert health["leads"] == {"value": 0, "previous": 0}
    for metric in health["metrics"]:
        assert (metric["count"], metric["value"], metric["previous"], metric["trend"]) == (
            0,
            None,
            None,
            None,
        )
    assert health["waiting_new"]["count"] == 2  # the queue is now, whatever the window


def test_no_leads_at_all(boss_client, db) -> None:  # type: ignore[no-untyped-def]
    health = _health(boss_client)
    assert health["waiting_new"] == {"count": 0, "oldest_seconds": None}
    assert all(m["value"] is None for m in health["metrics"])
    page = boss_client.get(f"/dashboards/response-time/?{WINDOW}").content.decode()
    assert "none waiting" in page


def test_one_query(moves, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_num_queries(health_queries(narrowed=True)):
        routing_health(
            leads=Lead.objects.filter(territory__code="EU"),
            window=DateWindow(date(2026, 3, 1), date(2026, 3, 3)),
        )
    with django_assert_num_queries(health_queries()):
        routing_health(
            leads=Lead.objects.all(), window=DateWindow(date(2026, 3, 1), date(2026, 3, 3))
        )


def test_the_leads_counted_from_the_maintained_counts_are_the_leads(moves) -> None:  # type: ignore[no-untyped-def]
    """Over every lead, PostgreSQL reads the leads of both windows from the maintained counts
    (folded or not): the same figures as counting the leads themselves."""
    from apps.dashboards.tally import tally_fold

    window = DateWindow(date(2026, 3, 1), date(2026, 3, 3))
    now = datetime(2026, 3, 4, tzinfo=UTC)
    # Lead.objects.all() with a filter that keeps every lead: counted from the leads
    counted = routing_health(leads=Lead.objects.filter(pk__gt=0), window=window, now=now)
    assert counted["leads"]["value"] and counted["leads"]["previous"]
    assert routing_health(leads=Lead.objects.all(), window=window, now=now) == counted
    tally_fold()
    assert routing_health(leads=Lead.objects.all(), window=window, now=now) == counted
    if connection.vendor == "postgresql":
        # Counts made in another zone are not used: the leads are counted instead.
        with connection.cursor() as cursor:
            cursor.execute("UPDATE dashboards_response_tally SET zone = 'Asia/Tokyo'")
        assert routing_health(leads=Lead.objects.all(), window=window, now=now) == counted


def test_page_query_count(boss_client, moves, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    cache.clear()
    # session, user, manager group, the viewer's rep; response time: figures
    # (response_time_queries), reps; health: its figures (health_queries); the filter form's
    # territory and rep choices
    with django_assert_num_queries(7 + response_time_queries(contacted=False) + health_queries()):
        boss_client.get(f"/dashboards/response-time/?{WINDOW}")


def test_the_strip_on_the_page(boss_client, moves) -> None:  # type: ignore[no-untyped-def]
    page = boss_client.get(f"/dashboards/response-time/?{WINDOW}").content.decode()
    assert 'id="h-health"' in page
    assert "compared with the previous 3 days, 2026-02-26 to 2026-02-28 (4 leads)" in page
    assert 'class="health-metric over-target" id="health-reroute_rate"' in page
    assert "best in class: under 3.0%" in page
    assert "up +25.0 points, worse" in page  # the reroute rate, in words for screen readers
    assert "down −12.5 points, better" in page
    assert "from 25.0% before" in page
    assert re.search(r"oldest waiting \d+ d", page)  # w1: days ago, whenever the test runs


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda d: d.slug)
def test_every_dashboard_shows_the_strip(boss_client, moves, dashboard) -> None:  # type: ignore[no-untyped-def]
    page = boss_client.get(f"{dashboard.get_absolute_url()}?{WINDOW}")
    assert page.status_code == 200
    assert 'id="h-health"' in page.content.decode()
    # The JSON twins leave the strip to its own endpoint (each costs only its own figures).
    response = boss_client.get(f"/api/dashboards/{dashboard.slug}/?{WINDOW}")
    assert response.status_code == 200 and "health" not in response.json()


def test_the_strip_has_its_own_json_endpoint(boss_client, moves) -> None:  # type: ignore[no-untyped-def]
    # (who may read it: tests/dashboards/test_dashboard_access.py)
    response = boss_client.get(f"/api/dashboards/health/?{WINDOW}")
    assert response.status_code == 200
    assert response.json()["leads"] == {"value": 8, "previous": 4}
    bad = boss_client.get("/api/dashboards/health/?start=nope")
    assert bad.status_code == 400 and "start" in bad.json()


def test_csv_downloads_leave_the_strip_out(boss_client, moves, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    cache.clear()
    # session, user, group, viewer's rep; figures (response_time_queries), reps
    with django_assert_num_queries(5 + response_time_queries(contacted=False)):
        response = boss_client.get(f"/dashboards/response-time/histogram.csv?{WINDOW}")
    assert response.status_code == 200


def test_moves_count_with_the_window_their_lead_arrived_in(boss_client, db) -> None:  # type: ignore[no-untyped-def]
    ann, bob = RepFactory(), RepFactory()
    # x arrived in the previous window and was moved a day later, in this one
    routed(lead(at(2, 28), bob), (ann, "auto", 0), (bob, "reassign_inactivity", 24))
    routed(lead(at(3, 1, 12), bob), (ann, "auto", 0), (bob, "manual", 1))
    health = _health(boss_client)
    assert _figures(health)["reroute_rate"] == (1, 1.0, 1, 1.0)
    assert _figures(health)["manual_override_rate"] == (1, 1.0, 0, 0.0)
    reroute = _metrics(health)["reroute_rate"]
    assert (reroute["delta"], reroute["trend"], reroute["assessment"]) == (0.0, "flat", "unchanged")
    page = boss_client.get(f"/dashboards/response-time/?{WINDOW}").content.decode()
    assert "unchanged," in page


def test_a_manual_move_after_two_automatic_assignments_counts_once(boss_client, db) -> None:  # type: ignore[no-untyped-def]
    ann, bob, cid = RepFactory(), RepFactory(), RepFactory()
    # routed to ann, rerouted automatically to bob 2 h later, then moved by hand to cid 1 h
    # after that: both automatic assignments began within the 24 hours before the manual move
    routed(lead(at(3, 2), cid), (ann, "auto", 0), (bob, "auto", 2), (cid, "manual", 3))
    health = _health(boss_client)
    assert _figures(health)["reroute_rate"] == (1, 1.0, 0, None)
    assert _figures(health)["manual_override_rate"] == (1, 1.0, 0, None)

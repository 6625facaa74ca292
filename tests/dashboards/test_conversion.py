"""Conversion by rep: exact figures and Wilson bounds on a small hand-built data set, each filter,
an empty window, a rep with no leads, an inactive rep, the CSV tables, bad filters, the query
count and who may look.

The data set (2026-03-01 to 03-03, UTC); the team rate is 18/32 = 0.5625:

========  ======  ===========================  ==========================================
rep       leads   converted                    territory / source
========  ======  ===========================  ==========================================
ann       10      2 (3 disq., 2 cont., 3 ass.)  EU; 5 "web" (1 conv.), 5 "Event" (1 conv.)
bob       20      16 (2 disq., 2 contacted)     10 EU + 10 US, 8 conv. each; 12 "web"
                                                (10 conv.), 8 "EVENT" (6 conv.)
cid       0       (active, no lead)
dan       2       0 (inactive; 1 disq., 1 ass.) no territory, no source
eve       0       (inactive, no lead: not listed)
no owner  2       (unrouted: left out)          1 EU "web", 1 "partner"
========  ======  ===========================  ==========================================

plus two converted leads of ann just outside the window. Wilson bounds were worked out apart
from the code, as the roots of (x - p)^2 = z^2 x (1 - x) / n (the score test it inverts).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.authtoken.models import Token

from apps.dashboards.conversion import Z_95, vs_team, wilson_interval
from apps.dashboards.templatetags.rates import interval
from apps.leads.models import Lead
from apps.routing.services import lead_reassign
from tests.dashboards.conftest import grouped_count_queries, health_queries
from tests.factories import LeadFactory, RepFactory, TerritoryFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/dashboards/conversion/"
API = "/api/dashboards/conversion/"
WINDOW = "start=2026-03-01&end=2026-03-03"
#: the page: session, user, the viewer's rep, the three of the report and the choices of the
#: territory and rep selects (the manager group is cached after the first request)
# 7 + the grouped counts + the routing-health strip
PAGE_QUERIES = 7 + grouped_count_queries() + health_queries()


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def data(db):  # type: ignore[no-untyped-def]
    eu, us = TerritoryFactory(code="EU", name="Europe"), TerritoryFactory(code="US", name="USA")
    ann = RepFactory(user=UserFactory(username="ann"))
    bob = RepFactory(user=UserFactory(username="bob"))
    cid = RepFactory(user=UserFactory(username="cid"))
    dan = RepFactory(user=UserFactory(username="dan"), active=False)
    RepFactory(user=UserFactory(username="eve"), active=False)
    hours = iter(range(1000))

    def leads(owner, statuses, territory=None, source="", created=None):  # type: ignore[no-untyped-def]
        for status in statuses:
            n = next(hours)
            LeadFactory(
                owner=owner,
                status=status,
                territory=territory,
                lead_source=source,
                created_at=created or at(1 + n % 3, n % 24),
            )

    leads(ann, ["converted", "disqualified", "contacted", "assigned", "assigned"], eu, "web")
    leads(ann, ["converted", "disqualified", "disqualified", "contacted", "assigned"], eu, "Event")
    leads(bob, ["converted"] * 6 + ["disqualified", "contacted"], eu, "web")
    leads(bob, ["converted"] * 4, us, "web")
    leads(bob, ["converted"] * 2, eu, "EVENT")
    leads(bob, ["converted"] * 4 + ["disqualified", "contacted"], us, "EVENT")
    leads(dan, ["disqualified", "assigned"])
    leads(None, ["unrouted"], eu, "web")
    leads(None, ["unrouted"], None, "partner")
    leads(ann, ["converted"], eu, "web", at(1, 0) - timedelta(seconds=1))
    leads(ann, ["converted"], eu, "web", at(4, 0))
    return {"ann": ann, "bob": bob, "cid": cid, "dan": dan, "eu": eu, "us": us}


def _get(client: Client, query: str = WINDOW) -> dict:  # type: ignore[type-arg]
    response = client.get(f"{API}?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def _fig(leads, converted, rate, low, high, flag):  # type: ignore[no-untyped-def]
    return {
        "leads": leads,
        "converted": converted,
        "rate": rate,
        "ci_low": low,
        "ci_high": high,
        "vs_team": flag,
    }


NONE = _fig(0, 0, None, None, None, None)


def _rows(report: dict, table: str, key: str) -> dict:  # type: ignore[type-arg]
    return {
        row[key]: {k: v for k, v in row.items() if k not in (key, "rep_id", "territory_name")}
        for row in report[table]
    }


# The interval itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("converted", "leads", "low", "high"),
    [
        (3, 10, 0.1078, 0.6032),
        (2, 10, 0.0567, 0.5098),
        (16, 20, 0.5840, 0.9193),
        (18, 32, 0.3933, 0.7183),
        (0, 1, 0.0, 0.7935),
        (1, 1, 0.2065, 1.0),
        (0, 2, 0.0, 0.6576),
        (5, 5, 0.5655, 1.0),
    ],
)
def test_wilson_interval(converted: int, leads: int, low: float, high: float) -> None:
    interval = wilson_interval(converted, leads)
    assert interval is not None
    assert (round(interval[0], 4), round(interval[1], 4)) == (low, high)


def test_wilson_interval_edges() -> None:
    assert round(Z_95, 6) == 1.959964
    assert wilson_interval(0, 0) is None
    assert wilson_interval(0, 7)[0] == 0.0  # type: ignore[index]
    assert wilson_interval(7, 7)[1] == 1.0  # type: ignore[index]
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    # a 1.0 z gives the narrower 68% interval
    assert wilson_interval(3, 10, z=1.0)[0] > wilson_interval(3, 10)[0]  # type: ignore[index]


def test_interval_filter() -> None:
    assert interval({"ci_low": 0.1078, "ci_high": 0.6032}) == "10.8–60.3%"
    assert interval({"ci_low": 0.0, "ci_high": 1.0}) == "0.0–100.0%"
    assert interval({"ci_low": None, "ci_high": None}) == "–"


def test_vs_team() -> None:
    assert vs_team((0.0567, 0.5098), 0.5625) == "below"
    assert vs_team((0.5840, 0.9193), 0.5625) == "above"
    assert vs_team((0.1078, 0.6032), 0.5625) == "within"
    assert vs_team((0.5, 0.6), 0.6) == "within"  # touching is not a gap
    assert vs_team(None, 0.5) is None
    assert vs_team((0.1, 0.2), None) is None


# The report ----------------------------------------------------------------------------------


def test_overall(boss_client, data) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client)
    assert report["window"] == {"start": "2026-03-01", "end": "2026-03-03"}
    assert report["overall"] == {
        "leads": 32,
        "converted": 18,
        "rate": 0.5625,
        "ci_low": 0.3933,
        "ci_high": 0.7183,
        "unowned": 2,
        "reps_below_team": 1,
        "reps_above_team": 1,
    }


def test_per_rep_with_flags_a_rep_with_no_leads_and_an_inactive_owner(boss_client, data) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client)
    assert [(r["rep"], r["rep_id"]) for r in report["per_rep"]] == [
        ("ann", data["ann"].pk),
        ("bob", data["bob"].pk),
        ("cid", data["cid"].pk),
        ("dan", data["dan"].pk),  # inactive but owns leads here; eve (inactive, none) is not
    ]
    assert _rows(report, "per_rep", "rep") == {
        "ann": _fig(10, 2, 0.2, 0.0567, 0.5098, "below"),
        "bob": _fig(20, 16, 0.8, 0.5840, 0.9193, "above"),
        "cid": NONE,
        "dan": _fig(2, 0, 0.0, 0.0, 0.6576, "within"),
    }
    # every owned lead is some listed rep's
    assert sum(r["leads"] for r in report["per_rep"]) == report["overall"]["leads"]


def test_by_territory(boss_client, data) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client)
    assert [(r["territory"], r["territory_name"]) for r in report["by_territory"]] == [
        ("EU", "Europe"),
        ("US", "USA"),
        (None, None),
    ]
    assert _rows(report, "by_territory", "territory") == {
        "EU": _fig(20, 10, 0.5, 0.2993, 0.7007, "within"),  # the unowned EU lead left out
        "US": _fig(10, 8, 0.8, 0.4902, 0.9433, "within"),
        None: _fig(2, 0, 0.0, 0.0, 0.6576, "within"),
    }


def test_by_source_groups_case_insensitively_and_skips_unowned_only_sources(
    boss_client, data
) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client)
    assert [r["lead_source"] for r in report["by_source"]] == ["event", "web", ""]
    assert _rows(report, "by_source", "lead_source") == {
        "event": _fig(13, 7, 0.5385, 0.2914, 0.7679, "within"),
        "web": _fig(17, 11, 0.6471, 0.4130, 0.8269, "within"),
        "": _fig(2, 0, 0.0, 0.0, 0.6576, "within"),
    }


def test_a_lead_counts_for_its_owner_at_the_end(boss_client, boss, data) -> None:  # type: ignore[no-untyped-def]
    lead = Lead.objects.filter(owner=data["ann"], status="assigned").earliest("created_at")
    lead_reassign(lead_id=lead.pk, rep=data["cid"], note="cid covers this account", actor=boss)
    rows = _rows(_get(boss_client), "per_rep", "rep")
    assert rows["ann"] == _fig(9, 2, 0.2222, 0.0632, 0.5474, "below")
    assert rows["cid"] == _fig(1, 0, 0.0, 0.0, 0.7935, "within")


def test_territory_filter(boss_client, data) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client, f"{WINDOW}&territory=US")
    assert report["overall"] == {
        "leads": 10,
        "converted": 8,
        "rate": 0.8,
        "ci_low": 0.4902,
        "ci_high": 0.9433,
        "unowned": 0,
        "reps_below_team": 0,
        "reps_above_team": 0,
    }
    # dan owns no US lead and is inactive: no longer listed
    assert _rows(report, "per_rep", "rep") == {
        "ann": NONE,
        "bob": _fig(10, 8, 0.8, 0.4902, 0.9433, "within"),
        "cid": NONE,
    }
    assert [r["territory"] for r in report["by_territory"]] == ["US"]


def test_lead_source_filter(boss_client, data) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client, f"{WINDOW}&lead_source=event")
    assert (report["overall"]["leads"], report["overall"]["converted"]) == (13, 7)
    assert _rows(report, "per_rep", "rep") == {
        "ann": _fig(5, 1, 0.2, 0.0362, 0.6245, "within"),
        "bob": _fig(8, 6, 0.75, 0.4093, 0.9285, "within"),
        "cid": NONE,
    }
    assert [r["lead_source"] for r in report["by_source"]] == ["event"]


def test_rep_filter(boss_client, data) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client, f"{WINDOW}&rep={data['dan'].pk}")
    assert [r["rep"] for r in report["per_rep"]] == ["dan"]
    assert report["overall"]["leads"] == 2 and report["overall"]["unowned"] == 0
    assert report["by_territory"] == [
        {"territory": None, "territory_name": None, **_fig(2, 0, 0.0, 0.0, 0.6576, "within")}
    ]
    # a rep with no lead in the window, filtered on: listed, with no figures
    report = _get(boss_client, f"{WINDOW}&rep={data['cid'].pk}")
    assert _rows(report, "per_rep", "rep") == {"cid": NONE}
    assert report["by_territory"] == [] and report["by_source"] == []


def test_window_edges_are_whole_days(boss_client, data) -> None:  # type: ignore[no-untyped-def]
    for day in ("2026-02-28", "2026-03-04"):
        report = _get(boss_client, f"start={day}&end={day}")
        assert (report["overall"]["leads"], report["overall"]["converted"]) == (1, 1)
        # 1/1 is no evidence of anything: the interval still reaches down to 0.2065
        assert _rows(report, "per_rep", "rep")["ann"] == _fig(1, 1, 1.0, 0.2065, 1.0, "within")


def test_empty_window(boss_client, data) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client, "start=2026-01-01&end=2026-01-02")
    assert report["overall"] == {
        "leads": 0,
        "converted": 0,
        "rate": None,
        "ci_low": None,
        "ci_high": None,
        "unowned": 0,
        "reps_below_team": 0,
        "reps_above_team": 0,
    }
    assert _rows(report, "per_rep", "rep") == {"ann": NONE, "bob": NONE, "cid": NONE}
    assert report["by_territory"] == [] and report["by_source"] == []
    page = boss_client.get(f"{URL}?start=2026-01-01&end=2026-01-02")
    assert page.status_code == 200
    assert "No owned lead arrived in this window" in page.content.decode()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2026-03-05&end=2026-03-01", "start date must not be after"),
        ("preset=year", "preset"),
        ("territory=NOPE", "territory"),
        ("rep=999999", "rep"),
        ("start=yesterday", "start"),
    ],
)
def test_bad_filters_are_400_naming_the_field(boss_client, data, query, field) -> None:  # type: ignore[no-untyped-def]
    api = boss_client.get(f"{API}?{query}")
    assert api.status_code == 400
    assert field in api.content.decode()
    page = boss_client.get(f"{URL}?{query}")
    assert page.status_code == 400
    assert field in page.content.decode()
    csv_response = boss_client.get(f"/dashboards/conversion/per_rep.csv?{query}")
    assert csv_response.status_code == 400


def test_query_count_is_fixed(boss_client, data, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    cache.clear()  # the manager status is cached per user (apps.core.roles)
    # session + user + manager group, then the counts, the reps, the territories
    with django_assert_num_queries(5 + grouped_count_queries()):
        _get(boss_client)
    # the group now cached; + the territory and the rep looked up
    with django_assert_num_queries(6 + grouped_count_queries()):
        _get(boss_client, f"{WINDOW}&territory=EU&rep={data['ann'].pk}")
    # more leads, more reps, more territories: the same count
    for n in range(5):
        LeadFactory(
            owner=RepFactory(),
            territory=TerritoryFactory(),
            lead_source=f"source {n}",
            status="converted",
            created_at=at(2, n),
        )
    with django_assert_num_queries(4 + grouped_count_queries()):
        _get(boss_client)


def test_page_query_count_is_fixed(boss_client, data, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    boss_client.get(URL)  # warm the per-user caches
    with django_assert_num_queries(PAGE_QUERIES):
        assert boss_client.get(f"{URL}?{WINDOW}").status_code == 200


def test_page_shows_the_figures_flags_and_csv_links(boss_client, data) -> None:  # type: ignore[no-untyped-def]
    page = boss_client.get(f"{URL}?{WINDOW}").content.decode()
    assert "56.2%" in page  # the team rate, 0.5625
    assert "39.3–71.8%" in page  # its interval
    assert "5.7–51.0%" in page  # ann's
    assert '<span class="badge vs-below">Below team</span>' in page
    assert '<span class="badge vs-above">Above team</span>' in page
    assert "2 leads with no owner (unrouted or not yet routed) are left out" in page
    assert 'src="/static/dashboards/conversion.' in page
    assert 'id="chart-conversion-reps"' in page and 'id="conversion-data"' in page
    for table in ("per_rep", "by_territory", "by_source"):
        assert f'href="/dashboards/conversion/{table}.csv?{WINDOW}"' in page.replace("&amp;", "&")
    assert 'aria-current="page">Conversion<' in page  # its tab


def test_csv_tables(boss_client, data) -> None:  # type: ignore[no-untyped-def]
    response = boss_client.get(f"/dashboards/conversion/per_rep.csv?{WINDOW}")
    assert response["Content-Type"].startswith("text/csv")
    assert "conversion-per_rep-2026-03-01-2026-03-03.csv" in response["Content-Disposition"]
    ann, bob, cid, dan = (data[n].pk for n in ("ann", "bob", "cid", "dan"))
    assert list(csv.reader(io.StringIO(response.content.decode()))) == [
        ["rep", "rep_id", "leads", "converted", "rate", "ci_low", "ci_high", "vs_team"],
        ["ann", str(ann), "10", "2", "0.2", "0.0567", "0.5098", "below"],
        ["bob", str(bob), "20", "16", "0.8", "0.584", "0.9193", "above"],
        ["cid", str(cid), "0", "0", "", "", "", ""],
        ["dan", str(dan), "2", "0", "0.0", "0.0", "0.6576", "within"],
    ]
    territories = boss_client.get(f"/dashboards/conversion/by_territory.csv?{WINDOW}")
    assert territories.content.decode().splitlines() == [
        "territory,territory_name,leads,converted,rate,ci_low,ci_high,vs_team",
        "EU,Europe,20,10,0.5,0.2993,0.7007,within",
        "US,USA,10,8,0.8,0.4902,0.9433,within",
        ",,2,0,0.0,0.0,0.6576,within",
    ]
    sources = boss_client.get(f"/dashboards/conversion/by_source.csv?{WINDOW}&territory=US")
    assert sources.content.decode().splitlines() == [
        "lead_source,leads,converted,rate,ci_low,ci_high,vs_team",
        "event,6,4,0.6667,0.3,0.9032,within",
        "web,4,4,1.0,0.5101,1.0,within",
    ]
    assert boss_client.get(f"/dashboards/conversion/daily.csv?{WINDOW}").status_code == 404


# Who may look --------------------------------------------------------------------------------

PATHS = [URL, API, "/dashboards/conversion/per_rep.csv"]


@pytest.mark.parametrize("path", PATHS)
def test_anonymous(path: str) -> None:
    response = Client().get(path)
    if path.startswith("/api/"):
        assert response.status_code == 401
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("path", PATHS)
def test_a_rep_is_refused(path: str) -> None:
    client = Client()
    client.force_login(RepFactory(user=UserFactory(username="rita")).user)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", PATHS)
def test_an_integration_account_is_refused(path: str, webform) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(webform)
    assert client.get(path).status_code == 403


def test_an_integration_token_is_refused_and_a_manager_token_may(webform, boss) -> None:  # type: ignore[no-untyped-def]
    refused = Token.objects.create(user=webform)
    assert Client().get(API, HTTP_AUTHORIZATION=f"Token {refused.key}").status_code == 403
    allowed = Token.objects.create(user=boss)
    assert Client().get(API, HTTP_AUTHORIZATION=f"Token {allowed.key}").status_code == 200


@pytest.mark.parametrize("path", PATHS)
def test_a_manager_may(path: str, boss_client, data) -> None:  # type: ignore[no-untyped-def]
    assert boss_client.get(path).status_code == 200


def test_the_json_twin_is_in_the_openapi_schema(boss_client) -> None:  # type: ignore[no-untyped-def]
    schema = boss_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/dashboards/conversion/"]["get"]
    assert operation["operationId"] == "dashboards_conversion"
    assert {p["name"] for p in operation["parameters"]} >= {"preset", "territory", "rep"}

"""Distribution balance: exact figures on a small hand-built data set (worked out by hand in the
comments), expected shares with weights and a daily cap, a rep away half the window flagged
starved with the reason, a rep with no leads, an empty window, each filter, the CSV, the query
count and who may see it. The chi-square p-values are checked against closed forms."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.authtoken.models import Token

from apps.engine.fairness import chi_square_sf
from apps.reps.models import Rep
from apps.routing.models import Assignment
from tests.factories import (
    LeadFactory,
    RepFactory,
    RuleFactory,
    TerritoryFactory,
    TimeOffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

URL = "/dashboards/balance/"
API = "/api/dashboards/balance/"
CSV = "/dashboards/balance/per_rep.csv"
WINDOW = "start=2026-03-01&end=2026-03-10"


def at(day: int, hour: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _recorded(rep: Rep, when: datetime, **changes: object) -> None:
    """Change ``rep`` and date the history row it writes ``when`` (as if changed then)."""
    for name, value in changes.items():
        setattr(rep, name, value)
    rep.save()
    latest = Rep.history.filter(id=rep.pk).latest("history_id")
    Rep.history.filter(history_id=latest.history_id).update(history_date=when)


def _assign(rep: Rep, when: datetime, territory, source: str = "web", kind: str = "auto") -> None:  # type: ignore[no-untyped-def]
    lead = LeadFactory(
        owner=rep, territory=territory, lead_source=source, status="assigned", created_at=when
    )
    Assignment.objects.create(lead=lead, rep=rep, kind=kind, reason="test", assigned_at=when)


@pytest.fixture
def boss_client(boss) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(boss)
    return client


@pytest.fixture
def dataset(db):  # type: ignore[no-untyped-def]
    """Ten days, 2026-03-01 to 03-10 (UTC), 30 automatic leads:

    ann (EU): available 10 days, 14 leads (one a day, and a second, from an event, on days 1-4)
    bob (US): available 10 days, 11 leads (one a day, two on day 5)
    cid (EU): away since 02-25, back on 03-06: available 5 days, no lead
    dan (EU): on time off from 03-06 (to 03-11): available 5 days, 5 leads on days 1-5
    eve: on time off all window, no lead; fay: inactive, no lead (not listed)
    Outside the count: bob's auto lead at 02-28 23:00 and cid's at 03-11 00:00, a manual move
    to cid and a duplicate to bob inside the window.
    """
    eu, us = TerritoryFactory(code="EU"), TerritoryFactory(code="US")
    reps = {}
    for name, territory in (("ann", eu), ("bob", us), ("cid", eu), ("dan", eu), ("eve", None)):
        reps[name] = RepFactory(
            user=UserFactory(username=name), territories=[territory] if territory else []
        )
    reps["fay"] = RepFactory(user=UserFactory(username="fay"), active=False)
    for rep in reps.values():  # created well before the window
        Rep.history.filter(id=rep.pk).update(history_date=at(1, month=12).replace(year=2025))
    _recorded(reps["cid"], at(25, month=2), away=True)
    _recorded(reps["cid"], at(6), away=False)
    TimeOffFactory(rep=reps["dan"], starts_at=at(6), ends_at=at(11))
    TimeOffFactory(rep=reps["eve"], starts_at=at(20, month=2), ends_at=at(20))

    for day in range(1, 11):
        _assign(reps["ann"], at(day, 10), eu)
        _assign(reps["bob"], at(day, 11), us)
    for day in range(1, 5):
        _assign(reps["ann"], at(day, 14), eu, source="event")
    _assign(reps["bob"], at(5, 15), us)
    for day in range(1, 6):
        _assign(reps["dan"], at(day, 12), eu)
    _assign(reps["bob"], at(28, 23, month=2), us)
    _assign(reps["cid"], at(11), eu)
    _assign(reps["cid"], at(7, 9), eu, kind="manual")
    _assign(reps["bob"], at(7, 9), us, kind="duplicate")
    return reps


def _get(client: Client, query: str = WINDOW) -> dict:  # type: ignore[type-arg]
    response = client.get(f"{API}?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def _rows(report: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {row["rep"]: row for row in report["per_rep"]}


def _pick(row: dict, *keys: str) -> tuple:  # type: ignore[type-arg]
    return tuple(row[k] for k in keys)


def test_team_figures(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client)
    assert report["window"] == {"start": "2026-03-01", "end": "2026-03-10", "days": 10}
    assert report["leads"] == 30
    # counts 0, 5, 11, 14: sum of |xi - xj| over ordered pairs 96, / (2 * 4^2 * 7.5) = 0.4
    assert report["gini"] == 0.4
    assert (report["max_leads"], report["min_leads"], report["max_min_ratio"]) == (14, 0, None)
    # expected 10, 10, 5, 5: (14-10)^2/10 + (11-10)^2/10 + (0-5)^2/5 + 0 = 1.6 + 0.1 + 5
    assert report["chi_square"] == 6.7 and report["chi_square_df"] == 3
    # three degrees of freedom: erfc(sqrt(x/2)) + sqrt(2x/pi) exp(-x/2) = 0.082100059...
    closed_form = math.erfc(math.sqrt(3.35)) + math.sqrt(13.4 / math.pi) * math.exp(-3.35)
    assert closed_form == pytest.approx(0.0821000596, rel=1e-9)
    assert report["chi_square_p"] == 0.0821  # four significant digits
    assert report["chi_square_reading"].startswith("Consistent with the expected split")
    assert report["starved"] == ["cid"] and report["flooded"] == []
    assert report["weighted"] is False
    assert any("Working hours are not counted" in note for note in report["notes"])


def test_per_rep_shares_and_expectations(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(_get(boss_client))
    assert list(rows) == ["ann", "bob", "cid", "dan", "eve"]  # fay: inactive, no lead
    keys = ("leads", "share", "expected_share", "expected_leads", "residual", "flag")
    # expected share = available days / 30 available rep-days in all
    assert _pick(rows["ann"], *keys) == (14, 0.4667, 0.3333, 10.0, 1.26, None)
    assert _pick(rows["bob"], *keys) == (11, 0.3667, 0.3333, 10.0, 0.32, None)
    assert _pick(rows["cid"], *keys) == (0, 0.0, 0.1667, 5.0, -2.24, "starved")
    assert _pick(rows["dan"], *keys) == (5, 0.1667, 0.1667, 5.0, 0.0, None)
    assert _pick(rows["eve"], *keys) == (0, 0.0, 0.0, 0.0, None, None)


def test_a_rep_away_half_the_window_is_starved_with_the_reason(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    cid = _rows(_get(boss_client))["cid"]
    assert (cid["available_days"], cid["away_days"], cid["time_off_days"]) == (5.0, 5.0, 0.0)
    assert cid["reasons"] == ["received 0 of an expected 5", "away 5 of 10 days"]
    assert cid["reason"] == "received 0 of an expected 5; away 5 of 10 days"


def test_time_off_and_a_rep_with_no_leads(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(_get(boss_client))
    assert (rows["dan"]["available_days"], rows["dan"]["time_off_days"]) == (5.0, 5.0)
    assert (rows["eve"]["available_days"], rows["eve"]["time_off_days"]) == (0.0, 10.0)
    assert rows["eve"]["reasons"] == []  # nothing was expected of her


def test_weights_and_a_daily_cap(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    RuleFactory(strategy="weighted_round_robin", target={"territory": "EU"})
    _recorded(dataset["ann"], at(1, month=1), weight=2)
    rows = _rows(_get(boss_client))
    # weights x available days: ann 20, bob 10, cid 5, dan 5 = 40 -> 30 leads as 15, 7.5, 3.75
    assert [rows[n]["expected_share"] for n in ("ann", "bob", "cid", "dan")] == [
        0.5,
        0.25,
        0.125,
        0.125,
    ]
    assert [rows[n]["expected_leads"] for n in ("ann", "bob", "cid", "dan")] == [
        15.0,
        7.5,
        3.75,
        3.75,
    ]
    assert rows["ann"]["weight"] == 2 and rows["bob"]["weight"] == 1
    assert rows["cid"]["flag"] is None  # -3.75 / sqrt(3.75) = -1.94: within chance

    # a cap of one lead a day holds ann to 10: the other 20 go 10, 5, 5
    _recorded(dataset["ann"], at(2, month=1), max_daily_leads=1)
    report = _get(boss_client)
    rows = _rows(report)
    assert [rows[n]["expected_leads"] for n in ("ann", "bob", "cid", "dan")] == [
        10.0,
        10.0,
        5.0,
        5.0,
    ]
    # one assignment or more every day of the window
    assert (rows["ann"]["daily_cap"], rows["ann"]["capped_days"]) == (1, 10)
    assert report["weighted"] is True
    # flooded: 14 - 10 = 4 over, residual 1.26: within chance, not flagged
    assert rows["ann"]["flag"] is None


def test_a_rep_who_received_leads_while_inactive_is_flooded(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    for day in (2, 3):
        _assign(dataset["fay"], at(day, 9), None)
    report = _get(boss_client)
    fay = _rows(report)["fay"]
    assert (fay["leads"], fay["expected_leads"], fay["flag"]) == (2, 0.0, "flooded")
    assert fay["reasons"] == [
        "received 2 while none were expected (not available in the window)",
        "inactive 10 of 10 days",
    ]
    assert report["flooded"] == ["fay"]
    assert any(note.startswith("2 leads went to reps expected") for note in report["notes"])
    assert report["chi_square"] == 6.7  # fay's leads are left out of the test


def test_a_rep_created_during_the_window_was_not_available_before(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    gus = RepFactory(user=UserFactory(username="gus"))
    Rep.history.filter(id=gus.pk).update(history_date=at(9))
    gus_row = _rows(_get(boss_client))["gus"]
    assert (gus_row["available_days"], gus_row["inactive_days"]) == (2.0, 8.0)


def test_territory_filter(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client, f"{WINDOW}&territory=EU")
    rows = _rows(report)
    # EU's reps (eve, in no territory, and bob, in US, are not in the pool): 19 leads over
    # 20 available rep-days: ann 9.5, cid 4.75, dan 4.75
    assert list(rows) == ["ann", "cid", "dan"]
    assert report["leads"] == 19
    assert [rows[n]["expected_leads"] for n in rows] == [9.5, 4.75, 4.75]
    assert rows["cid"]["flag"] is None  # residual -2.18, but fewer than 5 expected


def test_a_territory_pool_holds_the_reps_of_the_territories_under_it(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    de = TerritoryFactory(code="EU-DE", parent=dataset["ann"].territories.get())
    hal = RepFactory(user=UserFactory(username="hal"), territories=[de])
    Rep.history.filter(id=hal.pk).update(history_date=at(1, month=1))
    report = _get(boss_client, f"{WINDOW}&territory=EU")
    rows = _rows(report)
    # 19 leads over 30 available rep-days: ann and hal 10 days each, cid and dan 5
    assert list(rows) == ["ann", "cid", "dan", "hal"]
    assert [rows[n]["expected_leads"] for n in rows] == [6.33, 3.17, 3.17, 6.33]
    assert rows["hal"]["flag"] == "starved" and rows["ann"]["flag"] == "flooded"
    assert rows["hal"]["reasons"] == ["received 0 of an expected 6.3"]
    # on the unrounded expectations 19/3 and 19/6: 529/57 + 19/6 + 121/114 + 19/3 = 2262/114
    assert report["chi_square"] == round(2262 / 114, 4) == 19.8421


def test_lead_source_filter(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client, f"{WINDOW}&lead_source=EVENT")
    rows = _rows(report)
    assert report["leads"] == 4
    assert [rows[n]["leads"] for n in ("ann", "bob", "cid", "dan")] == [4, 0, 0, 0]
    # 4 leads over 30 rep-days: 10/30 x 4 = 1.33
    assert rows["ann"]["expected_leads"] == 1.33
    assert report["max_min_ratio"] is None and report["min_leads"] == 0


def test_rep_filter_keeps_the_team_figures(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client, f"{WINDOW}&rep={dataset['cid'].pk}")
    assert [row["rep"] for row in report["per_rep"]] == ["cid"]
    assert report["per_rep"][0]["expected_leads"] == 5.0
    assert report["gini"] == 0.4 and report["chi_square"] == 6.7


def test_window_edges_are_whole_days(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    assert _get(boss_client, "start=2026-02-28&end=2026-02-28")["leads"] == 1
    assert _get(boss_client, "start=2026-03-11&end=2026-03-11")["leads"] == 1


def test_empty_window(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client, "start=2026-01-01&end=2026-01-02")
    assert report["leads"] == 0
    assert (report["gini"], report["max_min_ratio"], report["chi_square_p"]) == (None, None, None)
    assert report["chi_square_reading"] == "Too few leads or reps to test the split."
    rows = _rows(report)
    assert list(rows) == ["ann", "bob", "cid", "dan", "eve"]
    assert {r["leads"] for r in rows.values()} == {0}
    assert {r["share"] for r in rows.values()} == {None}
    # before cid went away, everyone was available both days: a fifth each
    assert {r["expected_share"] for r in rows.values()} == {0.2}
    assert not report["starved"] and not report["flooded"]
    assert boss_client.get(f"{URL}?start=2026-01-01&end=2026-01-02").status_code == 200


def test_no_rep_at_all(boss_client) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client)
    assert report["per_rep"] == [] and report["leads"] == 0 and report["gini"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("territory=NOPE", "territory"),
        ("rep=999999", "rep"),
        ("start=yesterday", "start"),
        ("preset=year", "preset"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(boss_client, dataset, query, field) -> None:  # type: ignore[no-untyped-def]
    response = boss_client.get(f"{API}?{query}")
    assert response.status_code == 400
    assert field in response.json()
    page = boss_client.get(f"{URL}?{query}")
    assert page.status_code == 400 and f"{field}: " in page.content.decode()
    assert boss_client.get(f"{CSV}?{query}").status_code == 400


def test_query_count_is_fixed(boss_client, dataset, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    cache.clear()  # the manager status is cached per user (apps.core.roles)
    # session + user + manager group, then leads per rep, reps, history, time off, weighted
    # rules (no rep has a daily cap: no capped days to count)
    with django_assert_num_queries(8):
        _get(boss_client)
    # the group now cached; + the territory and the rep looked up by the filters, + the
    # territory tree
    with django_assert_num_queries(10):
        _get(boss_client, f"{WINDOW}&territory=EU&rep={dataset['ann'].pk}")
    # a daily cap: + the capped days
    Rep.objects.filter(pk__in=[dataset["ann"].pk, dataset["bob"].pk]).update(max_daily_leads=2)
    with django_assert_num_queries(8):
        report = _get(boss_client)
    # ann: two a day on days 1-4; bob: two on day 5, and on day 7 counting the duplicate
    # (a cap counts assignments of every kind)
    assert [_rows(report)[n]["capped_days"] for n in ("ann", "bob")] == [4, 2]


def test_query_count_does_not_grow_with_reps_or_history(  # type: ignore[no-untyped-def]
    boss_client, dataset, django_assert_num_queries
) -> None:
    for n in range(5):
        extra = RepFactory(user=UserFactory(username=f"extra{n}"))
        Rep.history.filter(id=extra.pk).update(history_date=at(1, month=1))
        _recorded(extra, at(3), away=True)
        _recorded(extra, at(4), away=False)
        TimeOffFactory(rep=extra, starts_at=at(7), ends_at=at(8))
        _assign(extra, at(2, 8), None)
    cache.clear()
    _get(boss_client)
    with django_assert_num_queries(7):
        report = _get(boss_client)
    assert _rows(report)["extra0"]["away_days"] == 1.0


def test_page_shows_the_figures_flags_and_csv_link(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    page = boss_client.get(f"{URL}?{WINDOW}").content.decode()
    assert "0.400" in page  # Gini
    assert "p = 0.0821" in page
    assert "a rep got none (starved)" in page
    assert "received 0 of an expected 5; away 5 of 10 days" in page
    assert 'id="balance-data"' in page and 'id="chart-balance"' in page
    assert 'src="/static/dashboards/balance.' in page
    assert f'href="/dashboards/balance/per_rep.csv?{WINDOW}"' in page.replace("&amp;", "&")
    assert 'aria-current="page">Distribution balance<' in page


def test_csv(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    response = boss_client.get(f"{CSV}?{WINDOW}")
    assert response["Content-Type"].startswith("text/csv")
    assert "balance-per_rep-2026-03-01-2026-03-10.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["rep"] for r in rows] == ["ann", "bob", "cid", "dan", "eve"]
    cid = rows[2]
    assert (cid["leads"], cid["expected_leads"], cid["flag"], cid["reason"]) == (
        "0",
        "5.0",
        "starved",
        "received 0 of an expected 5; away 5 of 10 days",
    )
    assert rows[4]["residual"] == "" and rows[4]["flag"] == ""
    assert boss_client.get(f"/dashboards/balance/leads.csv?{WINDOW}").status_code == 404


def test_chi_square_survival_function_against_known_values() -> None:
    assert chi_square_sf(3.84, 1) == pytest.approx(0.0500435, abs=1e-6)
    assert chi_square_sf(10, 5) == pytest.approx(0.0752352, abs=1e-6)
    for df in (1, 2, 7, 30):
        assert chi_square_sf(0, df) == 1.0
    # even degrees of freedom: exp(-x/2) * sum_{k < df/2} (x/2)^k / k!
    for x, df in ((2.0, 2), (10.0, 4), (0.5, 10), (60.0, 40), (150.0, 100)):
        closed = math.exp(-x / 2) * sum((x / 2) ** k / math.factorial(k) for k in range(df // 2))
        assert chi_square_sf(x, df) == pytest.approx(closed, rel=1e-9)
    # one degree of freedom: erfc(sqrt(x/2)); far in the tail, still accurate
    for x in (1.0, 6.635, 50.0):
        assert chi_square_sf(x, 1) == pytest.approx(math.erfc(math.sqrt(x / 2)), rel=1e-9)


def test_the_json_twin_is_in_the_openapi_schema(boss_client) -> None:  # type: ignore[no-untyped-def]
    schema = boss_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/dashboards/balance/"]["get"]
    assert operation["operationId"] == "dashboards_balance"
    assert {p["name"] for p in operation["parameters"]} >= {"preset", "territory", "rep"}


# Who may see it: managers only.
PATHS = [URL, API, CSV]


@pytest.mark.parametrize("path", PATHS)
def test_a_manager_may(boss_client, dataset, path) -> None:  # type: ignore[no-untyped-def]
    assert boss_client.get(f"{path}?{WINDOW}").status_code == 200


@pytest.mark.parametrize("path", PATHS)
def test_a_rep_may_not(dataset, path) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(dataset["ann"].user)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", PATHS)
def test_an_integration_account_may_not(webform, path) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(webform)
    assert client.get(path).status_code == 403


def test_an_integration_token_may_not(webform) -> None:  # type: ignore[no-untyped-def]
    token = Token.objects.create(user=webform)
    assert Client().get(API, HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 403


@pytest.mark.parametrize("path", PATHS)
def test_anonymous(path) -> None:  # type: ignore[no-untyped-def]
    response = Client().get(path)
    if path.startswith("/api/"):
        assert response.status_code == 401
    else:
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")

"""Speed to lead: exact figures on the hand-built data set (conftest), each filter, an empty
window, a rep with no leads, the CSV tables and the query count."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.core.cache import cache
from django.test import Client

from apps.core.db import percentile_cont
from apps.dashboards.filtersets import DateWindow, preset_window
from tests.dashboards.conftest import API, URL, WINDOW, response_time_queries

pytestmark = pytest.mark.django_db

NONE = {
    "leads": 0,
    "contacted": 0,
    "median_seconds": None,
    "p90_seconds": None,
    "within_sla_rate": None,
}


def _get(client: Client, query: str = WINDOW) -> dict:  # type: ignore[type-arg]
    response = client.get(f"{API}?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def _rep(report: dict, name: str) -> dict:  # type: ignore[type-arg]
    (row,) = [r for r in report["per_rep"] if r["rep"] == name]
    return {k: v for k, v in row.items() if k not in ("rep", "rep_id")}


def test_overall_figures(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client)
    # contacted in 120, 300, 600, 1800, 7200, 18000, 90000 s; p90 at rank 5.4 of 0..6
    assert report["overall"] == {
        "leads": 9,
        "contacted": 7,
        "median_seconds": 1800.0,
        "p90_seconds": 46800.0,
        "within_sla_rate": 0.4444,
    }
    assert report["window"] == {"start": "2026-03-01", "end": "2026-03-03"}


def test_per_rep_figures_and_a_rep_with_no_leads(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client)
    assert [r["rep"] for r in report["per_rep"]] == ["ann", "bob", "cid"]
    assert _rep(report, "ann") == {
        "leads": 4,
        "contacted": 4,
        "median_seconds": 1200.0,
        "p90_seconds": 5580.0,
        "within_sla_rate": 0.75,
    }
    assert _rep(report, "bob") == {
        "leads": 4,
        "contacted": 3,
        "median_seconds": 18000.0,
        "p90_seconds": 75600.0,
        "within_sla_rate": 0.25,
    }
    assert _rep(report, "cid") == NONE


def test_histogram_buckets(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    # 300 s exactly is "5-15 min": the lower bound is inclusive
    assert _get(boss_client)["histogram"] == [
        {"bucket": "<5 min", "count": 1},
        {"bucket": "5-15 min", "count": 2},
        {"bucket": "15-60 min", "count": 1},
        {"bucket": "1-4 h", "count": 1},
        {"bucket": "4-24 h", "count": 1},
        {"bucket": ">24 h", "count": 1},
        {"bucket": "never", "count": 2},
    ]


def test_daily_trend(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    assert _get(boss_client)["daily"] == [
        {"date": "2026-03-01", "leads": 3, "median_seconds": 300.0},
        {"date": "2026-03-02", "leads": 3, "median_seconds": 4500.0},
        {"date": "2026-03-03", "leads": 3, "median_seconds": 54000.0},
    ]


def test_territory_filter(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client, f"{WINDOW}&territory=EU")
    assert report["overall"]["leads"] == 4 and report["overall"]["median_seconds"] == 1200.0
    assert _rep(report, "bob") == NONE


def test_lead_source_filter(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client, f"{WINDOW}&lead_source=EVENT")
    assert report["overall"]["leads"] == 2 and report["overall"]["median_seconds"] == 210.0


def test_rep_filter(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client, f"{WINDOW}&rep={dataset['bob'].pk}")
    assert [r["rep"] for r in report["per_rep"]] == ["bob"]
    assert report["overall"]["leads"] == 4 and report["overall"]["median_seconds"] == 18000.0


def test_window_edges_are_whole_days(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    assert _get(boss_client, "start=2026-02-28&end=2026-02-28")["overall"]["leads"] == 1
    assert _get(boss_client, "start=2026-03-04&end=2026-03-04")["overall"]["leads"] == 1


def test_empty_window(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    report = _get(boss_client, "start=2026-01-01&end=2026-01-02")
    assert report["overall"] == NONE
    assert [h["count"] for h in report["histogram"]] == [0] * 7
    assert report["daily"] == [
        {"date": "2026-01-01", "leads": 0, "median_seconds": None},
        {"date": "2026-01-02", "leads": 0, "median_seconds": None},
    ]
    assert [_rep(report, r) for r in ("ann", "bob", "cid")] == [NONE] * 3
    assert boss_client.get(f"{URL}?start=2026-01-01&end=2026-01-02").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "start=2026-03-05&end=2026-03-01",
        "start=2025-01-01&end=2026-03-01",
        "preset=year",
        "territory=NOPE",
        "rep=999999",
        "start=yesterday",
    ],
)
def test_bad_filters_are_400(boss_client, dataset, query) -> None:  # type: ignore[no-untyped-def]
    assert boss_client.get(f"{API}?{query}").status_code == 400
    assert boss_client.get(f"{URL}?{query}").status_code == 400


def test_presets() -> None:
    today = date(2026, 5, 20)
    assert preset_window("7d", today=today) == DateWindow(date(2026, 5, 14), today)
    assert preset_window("30d", today=today) == DateWindow(date(2026, 4, 21), today)
    assert preset_window("90d", today=today) == DateWindow(date(2026, 2, 20), today)
    assert preset_window("this_quarter", today=today) == DateWindow(date(2026, 4, 1), today)
    assert preset_window("last_quarter", today=today) == DateWindow(
        date(2026, 1, 1), date(2026, 3, 31)
    )
    assert preset_window("last_quarter", today=date(2026, 2, 1)) == DateWindow(
        date(2025, 10, 1), date(2025, 12, 31)
    )


def test_the_default_period_shows_in_the_form(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    page = boss_client.get(URL).content.decode()
    assert '<option value="30d" selected>' in page


def test_preset_in_the_url_and_the_default(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    assert len(_get(boss_client, "preset=7d")["daily"]) == 7
    assert len(_get(boss_client, "")["daily"]) == 30


def test_percentile_fallback_matches_postgres_definition() -> None:
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([7.0], 0.9) == 7.0
    assert percentile_cont([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert percentile_cont([1.0, 2.0, 3.0, 4.0], 0.9) == pytest.approx(3.7)


def test_query_count_is_fixed(boss_client, dataset, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    cache.clear()  # the manager status is cached per user (apps.core.roles)
    # session + user + manager group, then the figures (response_time_queries) and the reps;
    # the health strip has its own endpoint
    figures = response_time_queries()
    with django_assert_num_queries(4 + figures):
        _get(boss_client)
    query = f"{WINDOW}&territory=EU&rep={dataset['ann'].pk}"
    # the group now cached; + the territory and the rep looked up; the leads sorted
    with django_assert_num_queries(5 + response_time_queries(narrowed=True)):
        _get(boss_client, query)


def test_page_shows_the_figures_and_csv_links(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    page = boss_client.get(f"{URL}?{WINDOW}").content.decode()
    assert "30 min" in page  # the overall median
    assert "13 h" in page  # p90, 46800 s
    assert "44.4%" in page
    assert 'src="/static/vendor/chartjs/chart.umd.' in page
    assert 'id="response-time-data"' in page
    for table in ("histogram", "daily", "per_rep"):
        assert f'href="/dashboards/response-time/{table}.csv?{WINDOW}"' in page.replace(
            "&amp;", "&"
        )
    assert 'aria-current="page">Dashboards<' in page


def test_csv_tables(boss_client, dataset) -> None:  # type: ignore[no-untyped-def]
    response = boss_client.get(f"/dashboards/response-time/per_rep.csv?{WINDOW}")
    assert response["Content-Type"].startswith("text/csv")
    assert "response-time-per_rep-2026-03-01-2026-03-03.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["rep", "leads", "contacted", "median_seconds", "p90_seconds", "within_sla_rate"],
        ["ann", "4", "4", "1200.0", "5580.0", "0.75"],
        ["bob", "4", "3", "18000.0", "75600.0", "0.25"],
        ["cid", "0", "0", "", "", ""],
    ]
    hist = boss_client.get(f"/dashboards/response-time/histogram.csv?{WINDOW}").content.decode()
    assert hist.splitlines()[-1] == "never,2"
    daily = boss_client.get(f"/dashboards/response-time/daily.csv?{WINDOW}").content.decode()
    assert daily.splitlines()[1] == "2026-03-01,3,300.0"
    assert boss_client.get(f"/dashboards/response-time/leads.csv?{WINDOW}").status_code == 404

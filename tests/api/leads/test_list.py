"""GET /api/leads/: every filter of API.md, pagination limits, bad values, a pinned query count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import LeadFactory, RepFactory, RuleFactory, TerritoryFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/leads/"


@pytest.fixture
def leads(db):  # type: ignore[no-untyped-def]
    now = timezone.now()
    west = TerritoryFactory(code="US-WEST")
    emea = TerritoryFactory(code="EMEA")
    rule = RuleFactory(name="Enterprise West")
    ana = RepFactory(user=UserFactory(username="ana"))
    ben = RepFactory(user=UserFactory(username="ben"))
    return {
        "west": LeadFactory(
            email="dana@acme.com",
            company="Acme",
            owner=ana,
            status="assigned",
            territory=west,
            rule=rule,
            lead_source="Webinar",
            country="US",
            external_id="crm-1",
            created_at=now - timedelta(days=10),
        ),
        "emea": LeadFactory(
            email="joe@globex.de",
            first_name="Joe",
            last_name="Schmidt",
            company="Globex",
            owner=ben,
            status="contacted",
            territory=emea,
            lead_source="trade show",
            country="DE",
            created_at=now - timedelta(days=3),
            escalated_at=now,
        ),
        "fresh": LeadFactory(
            email="new@initech.com",
            first_name="Peter",
            last_name="Gibbons",
            company="Initech",
            status="new",
            created_at=now - timedelta(hours=1),
        ),
    }


def ids(response):  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=assigned", {"west"}),
        ("status=assigned&status=new", {"west", "fresh"}),
        ("owner=ben", {"emea"}),
        ("territory=US-WEST", {"west"}),
        ("rule=Enterprise West", {"west"}),
        ("lead_source=webinar", {"west"}),
        ("country=de", {"emea"}),
        ("external_id=crm-1", {"west"}),
        ("escalated=true", {"emea"}),
        ("escalated=false", {"west", "fresh"}),
        ("search=globex", {"emea"}),
        ("search=GIBBONS", {"fresh"}),
        ("search=acme.com", {"west"}),
        ("search=%20", {"west", "emea", "fresh"}),
        ("owner=nobody", set()),
    ],
)
def test_each_filter(manager_client, leads, query, expected):
    assert ids(manager_client.get(f"{URL}?{query}")) == {leads[name].pk for name in expected}


def test_created_window(manager_client, leads):
    now = timezone.now()
    after = (now - timedelta(days=5)).isoformat()
    before = (now - timedelta(days=2)).isoformat()
    assert ids(manager_client.get(URL, {"created_after": after})) == {
        leads["emea"].pk,
        leads["fresh"].pk,
    }
    assert ids(manager_client.get(URL, {"created_before": before})) == {
        leads["west"].pk,
        leads["emea"].pk,
    }
    assert ids(manager_client.get(URL, {"created_after": after, "created_before": before})) == {
        leads["emea"].pk
    }


def test_newest_first(manager_client, leads):
    rows = manager_client.get(URL).json()["results"]
    assert [row["id"] for row in rows] == [leads["fresh"].pk, leads["emea"].pk, leads["west"].pk]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("created_after=notadate", 400),
        ("created_before=2026-13-45", 400),
        ("status=bogus", 400),
        ("escalated=maybe", 400),  # not a boolean: said so, not silently ignored
        ("page=999", 404),
        ("page=0", 404),
        ("page=abc", 404),
        ("page_size=abc", 200),
        ("page_size=-5", 200),
        ("search=%00", 400),
        ("owner=%00", 400),
    ],
)
def test_bad_filter_values_never_500(manager_client, leads, query, status):
    response = manager_client.get(f"{URL}?{query}")
    assert response.status_code == status, response.content
    if status == 400:
        assert query.split("=")[0] in response.json()


def test_page_size_is_capped_at_500(manager_client, db):
    LeadFactory.create_batch(505)
    body = manager_client.get(URL, {"page_size": 100_000}).json()
    assert body["count"] == 505
    assert len(body["results"]) == 500
    assert body["next"] is not None


def test_pagination_shape(manager_client, leads):
    body = manager_client.get(URL, {"page_size": 2}).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert "page=2" in body["next"]


@pytest.mark.parametrize("size", [5, 50])
def test_list_query_count_does_not_grow_with_the_page(
    manager_client, django_assert_max_num_queries, size
):
    west = TerritoryFactory(code="US-WEST")
    rule = RuleFactory(name="R")
    for i in range(size):
        rep = RepFactory(user=UserFactory(username=f"rep{i}"))
        LeadFactory(owner=rep, status="assigned", territory=west, rule=rule)
    # The manager check, the count and the page (owners, territories, rules joined).
    with django_assert_max_num_queries(3):
        response = manager_client.get(URL, {"page_size": 100})
    assert len(response.json()["results"]) == size


def test_rep_list_query_count(rita, rita_client, django_assert_max_num_queries):
    for _ in range(20):
        LeadFactory(owner=rita, status="assigned")
    # Token, the manager check, the rep, the count and the page.
    with django_assert_max_num_queries(5):
        response = rita_client.get(URL)
    assert response.json()["count"] == 20


@pytest.mark.parametrize(
    "value",
    [
        "2872-02-26T19:19:08-19:58",
        "2026-01-01T00:00:00+23:59",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
    ],
)
def test_extreme_offsets_in_date_filters_never_500(manager_client, leads, value):
    # Found by schemathesis: PostgreSQL refuses offsets beyond ±15:59 (DataError, a 500).
    response = manager_client.get(URL, {"created_before": value})
    assert response.status_code in (200, 400), response.content


def test_date_filter_offset_is_honoured(manager_client, leads):
    created = leads["fresh"].created_at
    just_after_in_tokyo = (
        (created + timedelta(seconds=1)).astimezone(timezone.get_fixed_timezone(9 * 60)).isoformat()
    )
    assert leads["fresh"].pk not in ids(
        manager_client.get(URL, {"created_after": just_after_in_tokyo})
    )

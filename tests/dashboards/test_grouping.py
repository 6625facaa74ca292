"""count_by: the same counts from PostgreSQL's grouping sets and the UNION ALL elsewhere, NULL
keys as groups of their own, expression keys, an empty queryset, one query."""

from __future__ import annotations

import pytest
from django.db.models import Q
from django.db.models.functions import Lower

from apps.dashboards.grouping import count_by
from apps.leads.models import Lead
from tests.dashboards.conftest import grouped_count_queries
from tests.factories import LeadFactory, RepFactory, TerritoryFactory

pytestmark = pytest.mark.django_db


def _sorted(rows: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    return sorted(rows, key=lambda r: tuple((v is None, str(v)) for v in r.values()))


def test_counts_every_way_in_one_query(django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    eu = TerritoryFactory(code="EU")
    ann = RepFactory()
    LeadFactory(owner=ann, territory=eu, lead_source="Web", status="converted")
    LeadFactory(owner=ann, territory=None, lead_source="web", status="contacted")
    LeadFactory(owner=None, territory=eu, lead_source="", status="unrouted")
    with django_assert_num_queries(grouped_count_queries()):
        groups = count_by(
            Lead.objects.all(),
            keys={"owner": "owner_id", "territory": "territory_id", "source": Lower("lead_source")},
            counts={"all": Q(), "won": Q(status="converted"), "orphan": Q(owner__isnull=True)},
        )
    assert _sorted(groups["owner"]) == [
        {"owner": ann.pk, "all": 2, "won": 1, "orphan": 0},
        {"owner": None, "all": 1, "won": 0, "orphan": 1},
    ]
    assert _sorted(groups["territory"]) == [
        {"territory": eu.pk, "all": 2, "won": 1, "orphan": 1},
        {"territory": None, "all": 1, "won": 0, "orphan": 0},
    ]
    assert _sorted(groups["source"]) == [
        {"source": "", "all": 1, "won": 0, "orphan": 1},
        {"source": "web", "all": 2, "won": 1, "orphan": 0},
    ]


def test_a_filtered_and_an_empty_queryset() -> None:
    LeadFactory(lead_source="web", status="converted", owner=RepFactory())
    LeadFactory(lead_source="ads", status="contacted", owner=RepFactory())
    groups = count_by(
        Lead.objects.filter(lead_source="ads"),
        keys={"source": "lead_source"},
        counts={"won": Q(status="converted")},
    )
    assert groups == {"source": [{"source": "ads", "won": 0}]}
    empty = count_by(
        Lead.objects.filter(pk__lt=0),
        keys={"owner": "owner_id", "source": "lead_source"},
        counts={"won": Q(status="converted")},
    )
    assert empty == {"owner": [], "source": []}


def test_a_queryset_that_cannot_match_asks_nothing(django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_num_queries(0):
        for queryset in (Lead.objects.none(), Lead.objects.filter(pk__in=[])):
            assert count_by(queryset, keys={"owner": "owner_id"}, counts={"all": Q()}) == {
                "owner": []
            }

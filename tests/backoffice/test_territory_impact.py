"""Saving a territory warns about overlaps, missing reps and the leads that now match elsewhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from apps.configuration.territory_impact import territory_defs, territory_impact
from apps.leads.models import Lead, LeadStatus
from apps.territories.models import Territory
from tests.factories import LeadFactory, RepFactory, UserFactory

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/territories/territory/add/"


@pytest.fixture
def manager(db):
    user = User.objects.create_user("boss", "boss@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="RevOps managers"))
    client = Client()
    client.force_login(user)
    return client


def _data(**values) -> dict:
    data = {
        "code": "",
        "name": "",
        "parent": "",
        "countries": "",
        "regions": "",
        "postal_prefixes": "",
        "children-TOTAL_FORMS": "0",
        "children-INITIAL_FORMS": "0",
    }
    data.update(values)
    return data


def _leads(west_org):
    """Open and recent leads in and around US-WEST, and an old closed one (never counted)."""
    now = timezone.now()
    ca = LeadFactory(email="ca@x.com", country="US", region="US-CA", status=LeadStatus.NEW)
    wa = LeadFactory(email="wa@x.com", country="US", region="US-WA", status=LeadStatus.UNROUTED)
    ny = LeadFactory(email="ny@x.com", country="US", region="US-NY", status=LeadStatus.NEW)
    old = LeadFactory(
        email="old@x.com",
        country="US",
        region="US-CA",
        status=LeadStatus.DISQUALIFIED,
        created_at=now - timedelta(days=90),
    )
    return ca, wa, ny, old


def test_a_new_overlapping_territory_without_reps_warns_and_names_the_leads(manager, west_org):
    ca, *_ = _leads(west_org)
    response = manager.post(
        ADD_URL,
        _data(code="CALI", name="California", parent=west_org["west"].pk, regions="US-CA"),
        follow=True,
    )
    assert response.status_code == 200
    assert Territory.objects.filter(code="CALI").exists()
    texts = [str(m) for m in response.context["messages"]]
    warnings = [m for m in response.context["messages"] if m.level_tag == "warning"]
    assert len(warnings) == 3, texts
    overlap, no_reps, moved = (str(m) for m in warnings)
    assert overlap == (
        "CALI shares region US-CA with US-WEST (its ancestor): a lead from US-CA now goes to "
        "CALI, the more specific (then first by code)."
    )
    assert no_reps.startswith("CALI has no active rep in it: a rule targeting it finds no one")
    assert moved.startswith(
        f"1 open or recent lead (last 30 days) now matches another territory: #{ca.pk} ca@x.com "
        "(US-CA: US-WEST → CALI)."
    )


def test_reps_below_count_and_no_overlap_no_warning(manager, west_org):
    response = manager.post(
        ADD_URL, _data(code="EMEA", name="EMEA", countries="DE, FR"), follow=True
    )
    assert [m for m in response.context["messages"] if m.level_tag == "warning"] != []
    RepFactory(
        user=UserFactory(username="dieter"), territories=[Territory.objects.get(code="EMEA")]
    )
    nordics = manager.post(
        ADD_URL,
        _data(
            code="NORDICS",
            name="Nordics",
            parent=Territory.objects.get(code="EMEA").pk,
            countries="SE",
        ),
        follow=True,
    )
    warnings = [str(m) for m in nordics.context["messages"] if m.level_tag == "warning"]
    # Nordics has no rep of its own and none below it; no overlap; no lead in Sweden
    assert len(warnings) == 1 and warnings[0].startswith("NORDICS has no active rep in it:")
    parent = territory_impact(code="EMEA", before=territory_defs())
    assert parent.messages() == []  # dieter is in EMEA itself


def test_the_impact_compares_the_engine_matching_before_and_after(west_org):
    ca, _wa, ny, _old = _leads(west_org)
    before = territory_defs()
    Territory.objects.filter(code="US-WEST").update(regions=["US-CA", "US-WA", "US-NY"])
    impact = territory_impact(code="US-WEST", before=before)
    assert impact.moved == 1
    assert [(m.lead_id, m.before, m.after) for m in impact.examples] == [(ny.pk, "AMER", "US-WEST")]
    Territory.objects.filter(code="US-WEST").update(regions=["US-WA"])
    impact = territory_impact(code="US-WEST", before=before)
    assert impact.moved == 1
    assert [(m.lead_id, m.before, m.after) for m in impact.examples] == [(ca.pk, "US-WEST", "AMER")]
    assert Lead.objects.count() == 4


def test_a_rename_moves_no_lead(west_org):
    _leads(west_org)
    before = territory_defs()
    Territory.objects.filter(code="US-WEST").update(code="US-PACIFIC")
    impact = territory_impact(code="US-PACIFIC", before=before, renamed_from="US-WEST")
    assert impact.moved == 0 and impact.overlaps == [] and impact.no_reps is None


def test_the_impact_reads_three_queries(west_org, django_assert_num_queries):
    _leads(west_org)
    before = territory_defs()
    with django_assert_num_queries(3):
        territory_impact(code="US-WEST", before=before)

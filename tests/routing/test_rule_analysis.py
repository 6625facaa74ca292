"""Rule warnings and the routing flow on live data: exact figures and pinned query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.leads.models import LeadStatus
from apps.reps.models import Rep
from apps.routing.models import Assignment
from apps.routing.rule_analysis import WarningCode, rule_flow, rule_hits, rule_warnings
from apps.routing.selectors import config_cache_clear, config_current
from apps.routing.services import lead_route
from apps.rules.models import RoutingRule
from tests.factories import LeadFactory, RepFactory, RuleFactory, TerritoryFactory, UserFactory

pytestmark = pytest.mark.django_db


def _away(*reps: Rep, away: bool = True) -> None:
    Rep.objects.filter(pk__in=[r.pk for r in reps]).update(away=away)


def _age(rule: RoutingRule, days: int) -> None:
    RoutingRule.objects.filter(pk=rule.pk).update(created_at=timezone.now() - timedelta(days=days))


@pytest.fixture
def flow_org(west_org):
    """west_org plus a held healthcare rule first, and dave in AMER (outside US-WEST)."""
    dave = RepFactory(user=UserFactory(username="dave"), territories=[west_org["amer"]])
    RoutingRule.objects.filter(pk=west_org["enterprise"].pk).update(position=1)
    RoutingRule.objects.filter(pk=west_org["everyone"].pk).update(position=2)
    healthcare = RuleFactory(
        name="Healthcare",
        position=0,
        conditions=[{"field": "industry", "op": "eq", "value": "healthcare"}],
        target={"reps": [{"username": "carol"}]},
        when_no_one_eligible="hold",
    )
    return {**west_org, "dave": dave, "healthcare": healthcare}


def _route(**fields):
    lead = LeadFactory(**fields)
    lead_route(lead_id=lead.pk)
    lead.refresh_from_db()
    return lead


def test_the_flow_counts_took_held_and_passed_exactly(flow_org, django_assert_num_queries):
    alice, bob, carol = flow_org["reps"]
    _away(alice, bob, carol)
    # 1. enterprise West: Enterprise West matches, all of US-WEST is away: passed on; Everyone
    #    else walks up to AMER and dave takes it
    big = _route(country="US", region="US-CA", company_size=5000)
    assert big.owner == flow_org["dave"]
    # 2. healthcare: carol is away, the rule holds it
    sick = _route(country="US", region="US-CA", industry="healthcare")
    assert sick.status == LeadStatus.UNROUTED
    # 3. no territory: Everyone else matches and finds no pool: passed on, unrouted
    lost = _route(country="FR")
    assert lost.status == LeadStatus.UNROUTED
    _away(alice, away=False)
    # 4. small west lead: Everyone else; 5. enterprise West with alice back: Enterprise West
    assert _route(country="US", region="US-WA", company_size=5).owner == alice
    assert _route(country="US", region="US-WA", company_size=2000).owner == alice

    with django_assert_num_queries(4):
        flow = rule_flow(days=7)

    assert flow.lead_in == 5
    assert flow.by_other_rules == 0
    assert [(s.name, s.reached, s.took, s.held, s.passed) for s in flow.steps] == [
        ("Healthcare", 5, 0, 1, 0),
        ("Enterprise West", 4, 1, 0, 1),
        ("Everyone else", 3, 2, 0, 1),
    ]
    assert flow.unrouted == 1
    assert flow.lead_in == (
        flow.by_other_rules + sum(s.took + s.held for s in flow.steps) + flow.unrouted
    )


def test_the_flow_window_and_rules_no_longer_active(flow_org):
    lead = _route(country="US", region="US-WA", company_size=5)
    assert lead.rule_id == flow_org["everyone"].pk
    old = _route(country="US", region="US-WA", company_size=6)
    Assignment.objects.filter(lead=old).update(assigned_at=timezone.now() - timedelta(days=10))
    RoutingRule.objects.filter(pk=flow_org["everyone"].pk).update(active=False)

    week = rule_flow(days=7)
    assert (week.lead_in, week.by_other_rules, week.unrouted) == (1, 1, 0)
    assert [s.name for s in week.steps] == ["Healthcare", "Enterprise West"]
    assert [s.reached for s in week.steps] == [0, 0]
    month = rule_flow(days=30)
    assert (month.lead_in, month.by_other_rules) == (2, 2)


def test_rule_hits_counts_the_rules_own_decisions_in_the_window(flow_org):
    for size in (5, 6, 7):
        _route(country="US", region="US-WA", company_size=size)
    _route(country="US", region="US-CA", company_size=3000)
    now = timezone.now()
    everyone, enterprise = flow_org["everyone"].pk, flow_org["enterprise"].pk
    assert rule_hits(since=now - timedelta(days=30)) == {everyone: 3, enterprise: 1}
    assert rule_hits(since=now - timedelta(days=30), rule_ids=[enterprise]) == {enterprise: 1}
    assert rule_hits(since=now + timedelta(seconds=1)) == {}


def test_warnings_name_shadowed_idle_and_unstaffed_rules(flow_org, django_assert_num_queries):
    carol = flow_org["reps"][2]
    TerritoryFactory(code="EMEA", name="EMEA", countries=["DE", "FR"])
    shadowed = RuleFactory(
        name="Healthcare again",
        position=3,
        conditions=[{"field": "industry", "op": "in", "value": ["healthcare"]}],
        target={"territory": "US-WEST"},
    )
    unstaffed = RuleFactory(
        name="Germany",
        position=4,
        conditions=[{"field": "country", "op": "eq", "value": "DE"}],
        target={"territory": "EMEA"},
    )
    for rule in (flow_org["healthcare"], flow_org["enterprise"], flow_org["everyone"], unstaffed):
        _age(rule, 40)
    _age(shadowed, 2)
    _away(carol)
    _route(country="US", region="US-WA", company_size=5)  # Everyone else takes one

    config = config_current()
    with django_assert_num_queries(3):
        warnings = rule_warnings(config=config)

    codes = {rule_id: [w.code for w in found] for rule_id, found in warnings.items()}
    assert codes == {
        flow_org["healthcare"].pk: [WarningCode.NO_HITS, WarningCode.NO_ELIGIBLE_REP],
        flow_org["enterprise"].pk: [WarningCode.NO_HITS],
        shadowed.pk: [WarningCode.SHADOWED, WarningCode.NO_HITS],
        unstaffed.pk: [WarningCode.NO_HITS, WarningCode.NO_REPS],
    }
    texts = {rule_id: [w.text for w in found] for rule_id, found in warnings.items()}
    assert texts[shadowed.pk] == [
        "Never fires: every lead it matches is taken first by the earlier rule 'Healthcare', "
        "whose conditions cover this rule's and which holds every lead it matches when no one "
        "is eligible.",
        "Took no lead since it was created 2 days ago.",
    ]
    assert texts[flow_org["healthcare"].pk] == [
        "Took no lead in the last 30 days.",
        "No rep of its target is eligible right now (carol away): leads it matches wait unrouted.",
    ]
    assert (
        texts[unstaffed.pk][1] == "Its target has no reps: leads it matches pass to the next rule."
    )


def test_warnings_cost_the_same_queries_for_many_rules(flow_org, django_assert_num_queries):
    for k in range(30):
        RuleFactory(
            name=f"Extra {k}",
            position=10 + k,
            conditions=[{"field": "lead_score", "op": "gte", "value": k}],
            target={"territory": "US-WEST"},
        )
    config = config_current()
    with django_assert_num_queries(3):
        warnings = rule_warnings(config=config)
    extra = RoutingRule.objects.filter(name__startswith="Extra").values_list("pk", flat=True)
    assert all(
        [w.text for w in warnings[pk]] == ["Took no lead yet (created today)."] for pk in extra
    )


def test_a_rule_that_took_a_lead_in_the_window_has_no_hits_warning(flow_org):
    _age(flow_org["everyone"], 40)
    _route(country="US", region="US-WA", company_size=5)
    warnings = rule_warnings()
    assert flow_org["everyone"].pk not in warnings
    assert [w.text for w in warnings[flow_org["enterprise"].pk]] == [
        "Took no lead yet (created today)."
    ]
    Assignment.objects.update(assigned_at=timezone.now() - timedelta(days=31))
    config_cache_clear()
    assert [w.text for w in rule_warnings()[flow_org["everyone"].pk]] == [
        "Took no lead in the last 30 days."
    ]


@pytest.mark.postgres
def test_the_flow_reads_unrouted_decisions_by_their_partial_index() -> None:
    from django.db import connection

    from apps.routing.rule_analysis import unrouted_activities

    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # a test table is small: ask what it can use
        plan = unrouted_activities(since=now - timedelta(days=7), until=now).explain()
        cursor.execute("SET enable_seqscan = on")
    assert "lead_activity_unrouted_at_idx" in plan

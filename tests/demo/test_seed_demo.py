"""`manage.py seed_demo` builds an organisation a newcomer can click through."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, Q
from django.utils import timezone

from apps.core.roles import user_is_manager, user_rep
from apps.demo.leads import lead_rows
from apps.demo.logins import DEMO_LOGINS
from apps.leads.models import WORKING_STATUSES, Lead, LeadStatus
from apps.reps.models import Rep
from apps.routing.models import Assignment, AssignmentKind
from apps.rules.models import RoutingRule, Strategy
from apps.territories.models import Territory

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded() -> str:
    out = StringIO()
    call_command("seed_demo", leads=200, seed=1, stdout=out)
    return out.getvalue()


def _descendants(code: str) -> set[str]:
    found: set[str] = set()
    frontier = [Territory.objects.get(code=code)]
    while frontier:
        node = frontier.pop()
        for child in node.children.all():
            found.add(child.code)
            frontier.append(child)
    return found


def test_organisation_spans_three_regions_and_many_time_zones(seeded: str) -> None:
    assert Territory.objects.count() >= 12
    roots = set(Territory.objects.filter(parent__isnull=True).values_list("code", flat=True))
    assert roots == {"AMER", "EMEA", "APAC"}
    for root in roots:
        assert len(_descendants(root)) >= 3
    assert Rep.objects.count() >= 30
    assert Rep.objects.values("time_zone").distinct().count() >= 8
    assert Rep.objects.filter(active=False).exists()
    assert Rep.objects.filter(away=True).exists()


def test_rules_use_every_strategy_and_leads_reach_every_status(seeded: str) -> None:
    assert set(RoutingRule.objects.values_list("strategy", flat=True)) == set(Strategy.values)
    positions = list(RoutingRule.objects.order_by("position").values_list("position", flat=True))
    assert positions == list(range(len(positions)))  # from 0, as the API numbers them
    statuses = set(Lead.objects.values_list("status", flat=True))
    assert {
        LeadStatus.ASSIGNED,
        LeadStatus.CONTACTED,
        LeadStatus.CONVERTED,
        LeadStatus.DISQUALIFIED,
    } <= statuses
    assert Lead.objects.count() == 200
    auto = Assignment.objects.filter(kind=AssignmentKind.AUTO)
    assert auto.count() > 150
    for assignment in auto[:50]:
        assert assignment.reason.startswith(assignment.rule_name)
        assert assignment.trace["outcome"] == "assigned"
        assert assignment.trace["rules"][-1]["chosen"] == assignment.rep.username
    # History is real: contact never precedes creation, closes follow contact.
    for lead in Lead.objects.filter(status=LeadStatus.CONVERTED):
        assert lead.created_at <= lead.first_contacted_at <= lead.closed_at
    assert "seed_demo: done" in seeded


def test_demo_logins_work_with_their_roles(seeded: str, client) -> None:  # type: ignore[no-untyped-def]
    users = get_user_model().objects
    for role, username, password in DEMO_LOGINS:
        assert client.login(username=username, password=password), username
        client.logout()
        user = users.get(username=username)
        assert user_is_manager(user) is (role in ("admin", "manager"))
        assert (user_rep(user) is not None) is (role == "rep")
    assert users.get(username="admin").is_superuser
    assert users.get(username="manager").is_staff


def test_leads_are_varied_and_include_repeat_emails(seeded: str) -> None:
    assert Lead.objects.values("country").distinct().count() >= 10
    assert Lead.objects.values("lead_source").distinct().count() >= 6
    assert Lead.objects.filter(status=LeadStatus.DUPLICATE, duplicate_of__isnull=False).exists()
    assert Lead.objects.filter(status=LeadStatus.UNROUTED).count() < 20


def test_the_same_seed_generates_the_same_leads() -> None:
    def rows(seed: int) -> list[tuple[str, object]]:
        now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
        generated = lead_rows(100, seed=seed, rng=random.Random(seed), now=now)
        return [(row["email"], row["created_at"]) for row in generated]

    assert rows(7) == rows(7)
    assert rows(7) != rows(8)


def test_if_empty_leaves_a_seeded_database_alone(seeded: str) -> None:
    counts = (Lead.objects.count(), Rep.objects.count(), Assignment.objects.count())
    out = StringIO()
    call_command("seed_demo", if_empty=True, stdout=out)
    assert "nothing to do" in out.getvalue()
    assert (Lead.objects.count(), Rep.objects.count(), Assignment.objects.count()) == counts
    with pytest.raises(CommandError, match="already holds"):
        call_command("seed_demo", leads=10, stdout=StringIO())
    assert Lead.objects.count() == counts[0]


@pytest.mark.django_db
def test_seeding_history_sends_no_mail(eager_tasks, django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", leads=60, seed=3, stdout=StringIO())
    assert mailoutbox == []


def test_every_reps_load_counter_matches_their_open_leads(seeded: str) -> None:
    # The away and the departed rep are saved after their history: a full save would write
    # back the load counters read before it (the away rep then looked empty to routing).
    actual = dict(
        Rep.objects.annotate(
            n=Count("leads", filter=Q(leads__status__in=WORKING_STATUSES))
        ).values_list("pk", "n")
    )
    counters = dict(Rep.objects.values_list("pk", "open_leads_count"))
    assert counters == actual


def test_history_plays_the_sla_ladder_so_the_first_live_sweep_has_no_backlog() -> None:
    # The history ran the real sweep at each minute tick after a deadline, as the beat would:
    # nothing is left overdue (beyond the last tick) for the portal's first sweep to move at once.
    before = timezone.now()  # no later than the seed's own "now"
    call_command("seed_demo", leads=200, seed=2, stdout=StringIO())
    overdue = Lead.objects.filter(
        status=LeadStatus.ASSIGNED,
        escalated_at__isnull=True,
        sla_due_at__lte=before - timedelta(minutes=1),
    )
    assert list(overdue.values_list("pk", "sla_due_at")) == []
    kinds = dict(
        Assignment.objects.values_list("kind").annotate(n=Count("id")).values_list("kind", "n")
    )
    # The ladder did work (slow reps lost leads), but most owners answer in time: no storm.
    assert 0 < kinds.get(AssignmentKind.REASSIGN_INACTIVITY, 0) < 0.15 * kinds[AssignmentKind.AUTO]
    assert Lead.objects.filter(escalated_at__isnull=False).count() <= 0.02 * 200


def test_the_demo_rules_warnings_flag_the_idle_rule_and_no_shadow(seeded: str) -> None:
    from apps.routing.rule_analysis import WarningCode, rule_warnings

    warnings = rule_warnings()
    public = RoutingRule.objects.get(name="Public sector")
    idle = [w.text for w in warnings.get(public.pk, []) if w.code == WarningCode.NO_HITS]
    assert idle == ["Took no lead in the last 30 days."]
    # the demo's order hides no rule behind another
    assert not any(w.code == WarningCode.SHADOWED for ws in warnings.values() for w in ws)

"""The SLA ladder through `manage.py reassign_inactive --as-of`: remind, move, escalate."""

from __future__ import annotations

import io
import multiprocessing
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from apps.leads.models import Lead, LeadActivity, LeadStatus
from apps.reps.models import Rep
from apps.routing.models import Assignment
from apps.routing.services import lead_contact, lead_reassign, lead_route
from apps.routing.sla import sla_sweep
from routing_portal.celery import app
from tests.factories import LeadFactory, TimeOffFactory, WorkingHoursFactory

# Two days ago at noon in the reps' zone: a sweep a few hours later stays on the same local day,
# whatever time the suite runs (reps count their leads per day of their own zone).
T0 = (
    (timezone.now() - timedelta(days=2))
    .astimezone(ZoneInfo("America/Los_Angeles"))
    .replace(hour=12, minute=0, second=0, microsecond=0)
    .astimezone(UTC)
)


@pytest.fixture
def eager():  # type: ignore[no-untyped-def]
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def sweep(django_capture_on_commit_callbacks, eager):  # type: ignore[no-untyped-def]
    """Run one sweep as of T0 + minutes through the command, mail sent on commit."""

    def run(minutes: float) -> str:
        out = io.StringIO()
        with django_capture_on_commit_callbacks(execute=True):
            call_command(
                "reassign_inactive", as_of=(T0 + timedelta(minutes=minutes)).isoformat(), stdout=out
            )
        return out.getvalue()

    return run


def counts(output: str) -> dict[str, int]:
    pairs = [line.strip().split(": ") for line in output.splitlines()[1:]]
    return {key: int(value) for key, value in pairs}


def route(django_capture_on_commit_callbacks, **kwargs):  # type: ignore[no-untyped-def]
    lead = LeadFactory(
        company_size=5000,
        country="US",
        region="US-CA",
        created_at=T0 - timedelta(minutes=1),
        **kwargs,
    )
    with django_capture_on_commit_callbacks(execute=True):
        lead_route(lead_id=lead.pk, now=T0)
    lead.refresh_from_db()
    return lead


def owner(lead: Lead) -> str:
    lead.refresh_from_db()
    return lead.owner.username


@pytest.mark.django_db
def test_full_ladder_reminds_moves_twice_then_escalates(
    west_org, manager_user, sweep, django_capture_on_commit_callbacks, eager
):
    lead = route(django_capture_on_commit_callbacks)
    assert owner(lead) == "alice"
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]  # assignment mail from routing
    mail.outbox.clear()

    assert counts(sweep(10))["reminded"] == 0
    assert counts(sweep(15))["reminded"] == 1
    assert counts(sweep(16))["reminded"] == 0  # once per assignment
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert "Reminder" in mail.outbox[0].subject
    mail.outbox.clear()

    assert counts(sweep(30)) | {} == {
        "unavailable_moved": 0,
        "reassigned": 1,
        "escalated": 0,
        "deferred": 0,
        "reminded": 0,
        "skipped": 0,
        "errors": 0,
    }
    lead.refresh_from_db()
    assert lead.owner.username == "bob"
    assert lead.reassignment_count == 1
    assert lead.sla_due_at == T0 + timedelta(minutes=60)
    assert lead.sla_reminded_at is None
    moved = lead.assignments.order_by("id").last()
    assert moved.kind == "reassign_inactivity"
    assert moved.actor is None
    assert moved.reason.startswith(
        "Not contacted within 30 min by alice. Enterprise West: round robin"
    )
    assert "US-WEST" in moved.reason
    first = lead.assignments.order_by("id").first()
    assert first.ended_at == T0 + timedelta(minutes=30)
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == ["alice@example.com", "bob@example.com"]  # new owner + previous owner
    to_bob = next(m for m in mail.outbox if m.to == ["bob@example.com"])
    assert moved.reason in to_bob.body
    assert to_bob.alternatives and "text/html" in to_bob.alternatives[0][1]
    mail.outbox.clear()

    assert counts(sweep(45))["reminded"] == 1
    assert counts(sweep(60))["reassigned"] == 1
    assert owner(lead) == "carol"
    mail.outbox.clear()

    assert counts(sweep(90))["escalated"] == 1
    lead.refresh_from_db()
    assert lead.escalated_at == T0 + timedelta(minutes=90)
    assert lead.owner.username == "carol"  # stays put
    assert lead.reassignment_count == 2
    assert [m.to for m in mail.outbox] == [["manager@example.com"]]
    assert "Escalated" in mail.outbox[0].subject

    for minutes in (120, 500, 5000):
        assert counts(sweep(minutes)) == dict.fromkeys(counts(sweep(minutes)), 0)
    assert owner(lead) == "carol"
    assert lead.assignments.count() == 3
    kinds = list(LeadActivity.objects.filter(lead=lead).values_list("kind", flat=True))
    assert kinds == ["assigned", "reminded", "reassigned", "reminded", "reassigned", "escalated"]


@pytest.mark.django_db
def test_the_ladder_reads_through_the_api_activity_log(
    west_org, manager_client, sweep, django_capture_on_commit_callbacks
):
    lead = route(django_capture_on_commit_callbacks)
    for minutes in (15, 30, 45, 60, 90):
        sweep(minutes)
    response = manager_client.get(f"/api/leads/{lead.pk}/activity/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["kind"] for row in rows] == [
        "assigned",
        "reminded",
        "reassigned",
        "reminded",
        "reassigned",
        "escalated",
    ]
    escalated = rows[-1]
    assert escalated["at"].startswith((T0 + timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M"))
    assert escalated["actor"] is None
    assert "after 2 reassignment" in escalated["note"]
    assert rows[2]["data"]["kind"] == "reassign_inactivity"


@pytest.mark.django_db
def test_a_tick_a_few_milliseconds_early_still_catches_the_leads_the_last_sweep_moved(
    west_org, django_capture_on_commit_callbacks
):
    """Beat ticks every minute with jitter: the second move must not wait a whole extra minute."""
    lead = route(django_capture_on_commit_callbacks)
    tick = T0 + timedelta(minutes=30, milliseconds=7)
    assert sla_sweep(now=tick)["reassigned"] == 1
    lead.refresh_from_db()
    assert lead.sla_due_at == tick + timedelta(minutes=30)

    early = tick + timedelta(minutes=15) - timedelta(milliseconds=2)  # reminder point, early tick
    assert sla_sweep(now=early)["reminded"] == 1
    next_tick = tick + timedelta(minutes=30) - timedelta(milliseconds=2)
    result = sla_sweep(now=next_tick)
    assert (result["reassigned"], result["reminded"]) == (1, 0)
    assert owner(lead) == "carol"

    too_early = next_tick + timedelta(minutes=30) - timedelta(seconds=2)  # beyond the tolerance
    assert sla_sweep(now=too_early)["escalated"] == 0
    assert sla_sweep(now=too_early + timedelta(seconds=2))["escalated"] == 1


@pytest.mark.django_db
def test_previous_holders_are_skipped_and_no_one_left_escalates(
    west_org, manager_user, sweep, django_capture_on_commit_callbacks
):
    lead = route(django_capture_on_commit_callbacks)  # alice
    bob = Rep.objects.get(user__username="bob")
    lead_reassign(lead_id=lead.pk, rep=bob, note="knows them", actor=manager_user, now=T0)
    # Manual reassignment sets the default SLA (60 min); alice and bob have both held it now.
    assert counts(sweep(61))["reassigned"] == 1
    assert owner(lead) == "carol"
    # Only alice, bob and carol exist: all held it, so the next overdue step escalates.
    lead.refresh_from_db()
    due = (lead.sla_due_at - T0).total_seconds() / 60
    assert counts(sweep(due + 1))["escalated"] == 1
    lead.refresh_from_db()
    assert lead.owner.username == "carol"
    assert lead.escalated_at is not None
    assert (
        "no rep who has not held the lead"
        in LeadActivity.objects.filter(lead=lead, kind="escalated").get().note
    )


@pytest.mark.django_db
def test_falls_back_to_the_full_rules_excluding_previous_holders(
    west_org, sweep, django_capture_on_commit_callbacks
):
    from tests.factories import RepFactory, UserFactory

    lead = route(django_capture_on_commit_callbacks)  # alice, by Enterprise West
    for name in ("bob", "carol"):
        Rep.objects.filter(user__username=name).update(max_open_leads=0)
    # Someone in AMER only: not in Enterprise West's US-WEST pool, found by "Everyone else" ($lead, up the tree).
    RepFactory(user=UserFactory(username="dave"), territories=[west_org["amer"]])
    assert counts(sweep(30))["reassigned"] == 1
    assert owner(lead) == "dave"
    moved = lead.assignments.order_by("id").last()
    assert moved.rule_name == "Everyone else"
    assert "full rules applied" in moved.reason


@pytest.mark.django_db
def test_a_lead_contacted_just_before_the_sweep_is_left_alone(
    west_org, sweep, django_capture_on_commit_callbacks
):
    lead = route(django_capture_on_commit_callbacks)
    lead_contact(lead_id=lead.pk, at=T0 + timedelta(minutes=29, seconds=59))
    assert counts(sweep(31))["reassigned"] == 0
    assert counts(sweep(300)) == dict.fromkeys(counts(sweep(300)), 0)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED
    assert lead.owner.username == "alice"
    assert lead.assignments.count() == 1


@pytest.mark.django_db
def test_time_off_started_moves_untouched_leads_without_counting(
    west_org, sweep, django_capture_on_commit_callbacks
):
    lead = route(django_capture_on_commit_callbacks)  # alice
    contacted = route(django_capture_on_commit_callbacks)  # bob
    lead_contact(lead_id=contacted.pk, at=T0 + timedelta(minutes=1))
    alice = Rep.objects.get(user__username="alice")
    TimeOffFactory(
        rep=alice,
        starts_at=T0 + timedelta(minutes=5),
        ends_at=T0 + timedelta(days=5),
        reason="sick",
        note="flu, back Friday",
    )
    assert counts(sweep(4))["unavailable_moved"] == 0
    assert counts(sweep(6))["unavailable_moved"] == 1
    lead.refresh_from_db()
    assert lead.owner.username == "carol"  # rotation continues after bob
    assert lead.reassignment_count == 0  # unavailability is not inactivity
    assert lead.sla_due_at == T0 + timedelta(minutes=36)
    moved = lead.assignments.order_by("id").last()
    assert moved.kind == "reassign_unavailable"
    # The sentence reaches carol (reason, mail): the category only, no reason, note or dates.
    assert moved.reason.startswith("alice is unavailable (on time off). ")
    assert "flu" not in moved.reason and "sick" not in moved.reason
    assert "flu" not in str(moved.trace) and "sick" not in str(moved.trace)
    assert owner(contacted) == "bob"  # contacted leads stay with their owner


@pytest.mark.django_db
def test_deactivated_rep_loses_untouched_leads(west_org, sweep, django_capture_on_commit_callbacks):
    lead = route(django_capture_on_commit_callbacks)
    Rep.objects.filter(user__username="alice").update(active=False)
    assert counts(sweep(1))["unavailable_moved"] == 1
    assert owner(lead) == "bob"
    assert "deactivated" in lead.assignments.order_by("id").last().reason
    assert Rep.objects.get(user__username="alice").open_leads_count == 0
    assert Rep.objects.get(user__username="bob").open_leads_count == 1


@pytest.mark.django_db
def test_the_sweep_pages_through_many_leads(west_org, django_capture_on_commit_callbacks):
    leads = [route(django_capture_on_commit_callbacks) for _ in range(7)]
    result = sla_sweep(now=T0 + timedelta(minutes=31), batch_size=2)
    assert result["reassigned"] == 7
    for lead in leads:
        lead.refresh_from_db()
        assert lead.reassignment_count == 1
        assert lead.assignments.count() == 2


@pytest.mark.django_db
def test_a_page_carries_loads_forward_so_caps_hold(west_org, django_capture_on_commit_callbacks):
    leads = [route(django_capture_on_commit_callbacks) for _ in range(6)]  # 2 each, round robin
    Rep.objects.update(max_open_leads=3)
    result = sla_sweep(now=T0 + timedelta(minutes=31))  # one page: decided in memory together
    assert result["reassigned"] + result["escalated"] == 6
    for rep in Rep.objects.all():
        held = Lead.objects.filter(owner=rep, status=LeadStatus.ASSIGNED).count()
        assert rep.open_leads_count == held <= 3
        assert rep.assigned_today == Assignment.objects.filter(rep=rep).count()
    for lead in leads:
        lead.refresh_from_db()
        reps = list(lead.assignments.order_by("id").values_list("rep_id", flat=True))
        assert len(set(reps)) == len(reps)  # never back to a previous holder


@pytest.mark.django_db
def test_command_rejects_a_bad_date(west_org):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not an ISO 8601"):
        call_command("reassign_inactive", as_of="yesterday-ish")


@pytest.mark.django_db
def test_business_hours_deadline_waits_for_working_time(
    west_org, settings, sweep, django_capture_on_commit_callbacks
):
    global T0
    settings.ROUTING_SLA_BUSINESS_HOURS = True
    la = ZoneInfo("America/Los_Angeles")
    saved = T0
    T0 = datetime(2025, 3, 14, 16, 50, tzinfo=la)  # a Friday, 10 minutes before alice stops
    try:
        for rep in Rep.objects.all():
            WorkingHoursFactory(rep=rep, start="09:00", end="17:00")
        lead = route(django_capture_on_commit_callbacks)
        assert lead.owner.username == "alice"
        # Due after 30 minutes of alice's working time: 10 on Friday, 20 on Monday morning.
        assert lead.sla_due_at == datetime(2025, 3, 17, 9, 20, tzinfo=la)
        result = counts(sweep(31))
        assert result["reassigned"] == 0 and result["escalated"] == 0
        lead.refresh_from_db()
        assert lead.owner.username == "alice"
        # Monday 09:21: the working time is up; bob is at work, so the lead moves to him.
        monday = (datetime(2025, 3, 17, 9, 21, tzinfo=la) - T0).total_seconds() / 60
        assert counts(sweep(monday))["reassigned"] == 1
        assert owner(lead) == "bob"
    finally:
        T0 = saved


def test_a_rule_can_count_working_hours_while_the_default_is_wall_clock(
    west_org, settings, django_capture_on_commit_callbacks
):
    global T0
    settings.ROUTING_SLA_BUSINESS_HOURS = False
    la = ZoneInfo("America/Los_Angeles")
    saved = T0
    T0 = datetime(2025, 3, 14, 16, 50, tzinfo=la)
    try:
        for rep in Rep.objects.all():
            WorkingHoursFactory(rep=rep, start="09:00", end="17:00")
        rule = west_org["enterprise"]
        rule.sla_business_hours = True
        rule.save()
        lead = route(django_capture_on_commit_callbacks)
        assert lead.sla_due_at == datetime(2025, 3, 17, 9, 20, tzinfo=la)
        rule.sla_business_hours = None  # back to the wall-clock default
        rule.save()
        other = route(django_capture_on_commit_callbacks)
        assert other.sla_due_at == T0 + timedelta(minutes=30)
    finally:
        T0 = saved


# --- two sweeps at once (PostgreSQL row locks) ----------------------------------------------


def _sweep_in_child(
    now_iso: str, start: multiprocessing.synchronize.Event, results: multiprocessing.Queue
) -> None:  # type: ignore[name-defined]
    start.wait(timeout=30)
    try:
        results.put(sla_sweep(now=datetime.fromisoformat(now_iso), batch_size=7))
    finally:
        connections.close_all()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_move_each_lead_once(west_org):
    for name in ("dave", "erin", "frank"):
        from tests.factories import RepFactory, UserFactory

        RepFactory(user=UserFactory(username=name), territories=[west_org["west"]])
    leads = []
    for _ in range(40):
        lead = LeadFactory(
            company_size=5000, country="US", region="US-CA", created_at=T0 - timedelta(minutes=1)
        )
        lead_route(lead_id=lead.pk, now=T0)
        leads.append(lead.pk)
    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Event(), ctx.Queue()
    now = (T0 + timedelta(minutes=31)).isoformat()
    workers = [ctx.Process(target=_sweep_in_child, args=(now, start, results)) for _ in range(3)]
    for worker in workers:
        worker.start()
    start.set()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert sum(o["reassigned"] for o in outcomes) == 40
    assert sum(o["errors"] for o in outcomes) == 0
    per_lead = Counter(Assignment.objects.values_list("lead_id", flat=True))
    assert set(per_lead.values()) == {2}
    assert set(Lead.objects.filter(pk__in=leads).values_list("reassignment_count", flat=True)) == {
        1
    }
    current = Assignment.objects.filter(ended_at__isnull=True).count()
    assert current == 40
    open_counts = sum(Rep.objects.values_list("open_leads_count", flat=True))
    assert open_counts == 40


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_overdue_page_is_read_in_index_order_from_its_keyset(west_org):
    from django.db import connection

    from apps.routing.sla_sweep import _page_after

    overdue = Lead.objects.filter(status="assigned", escalated_at__isnull=True, sla_due_at__lte=T0)
    with connection.cursor() as cursor:
        # Fresh statistics: leads written and deleted by earlier tests (the fault tests' real
        # processes) can leave autovacuum's numbers behind, and the plan would follow them.
        cursor.execute("ANALYZE leads_lead")
        cursor.execute("SET enable_seqscan = off")
        first = _page_after(overdue, None, by_due=True).values_list("pk")[:500].explain()
        later = _page_after(overdue, (T0, 10), by_due=True).values_list("pk")[:500].explain()
        cursor.execute("SET enable_seqscan = on")
    for plan in (first, later):
        assert "lead_sla_sweep_idx" in plan
        assert "Sort" not in plan  # the index holds (sla_due_at, id): no rereading of ties
    assert re.search(r"Index Cond: .*ROW\(sla_due_at, id\) > ROW\(", later)  # seeks, no filter


@pytest.mark.django_db
def test_a_page_costs_the_same_statements_whatever_its_size(
    west_org, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.routing.sla import leads_reassign_inactive

    def statements(size: int, now: datetime) -> int:
        leads = [route(django_capture_on_commit_callbacks) for _ in range(size)]
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks():
            outcomes = leads_reassign_inactive(lead_ids=[lead.pk for lead in leads], now=now)
        assert list(outcomes.values()) == ["reassigned"] * size
        Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(status="converted")
        return len(queries)

    assert statements(2, T0 + timedelta(minutes=31)) == statements(9, T0 + timedelta(minutes=32))


@pytest.mark.django_db
def test_sweep_is_scheduled_every_minute_and_a_managers_edit_survives_beat_restarts(settings):
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    from apps.routing.schedule import beat_schedule_ensure
    from routing_portal.celery import app

    entry = PeriodicTask.objects.get(name="reassign-inactive")
    assert entry.task == "apps.routing.tasks.reassign_inactive"
    assert entry.crontab.minute == "*"
    assert settings.CELERY_TASK_ROUTES["apps.routing.tasks.reassign_inactive"] == {
        "queue": "sweeps"
    }
    # A manager slows the sweep down. Beat's database scheduler re-applies only
    # app.conf.beat_schedule at start, which is empty; a new migrate keeps the change too.
    entry.crontab = CrontabSchedule.objects.create(minute="*/5", timezone="UTC")
    entry.save()
    assert not app.conf.beat_schedule
    beat_schedule_ensure()
    assert PeriodicTask.objects.get(name="reassign-inactive").crontab.minute == "*/5"


@pytest.mark.django_db
def test_the_beat_task_runs_a_sweep(west_org, django_capture_on_commit_callbacks):
    from apps.routing.tasks import reassign_inactive

    lead = LeadFactory(company_size=5000, country="US", region="US-CA")
    lead_route(lead_id=lead.pk, now=timezone.now() - timedelta(hours=1))
    assert reassign_inactive()["reassigned"] == 1


@pytest.mark.django_db
def test_a_managers_hand_over_settles_an_escalation_and_the_ladder_starts_again(
    west_org, manager_user, django_capture_on_commit_callbacks
):
    lead = route(django_capture_on_commit_callbacks)
    for minutes in (30, 60, 90):
        sla_sweep(now=T0 + timedelta(minutes=minutes))
    lead.refresh_from_db()
    assert lead.escalated_at is not None
    alice = Rep.objects.get(user__username="alice")
    handed = T0 + timedelta(minutes=95)
    lead_reassign(lead_id=lead.pk, rep=alice, note="Alice takes it", actor=manager_user, now=handed)
    lead.refresh_from_db()
    assert (lead.escalated_at, lead.reassignment_count) == (None, 0)
    assert lead.sla_due_at > handed
    assert sla_sweep(now=lead.sla_due_at - timedelta(minutes=1))["escalated"] == 0
    # The new owner's deadline is enforced again (all three reps have held it: escalated).
    assert sla_sweep(now=lead.sla_due_at)["escalated"] == 1

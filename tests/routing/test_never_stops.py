"""Routing follows a configuration change at once, records the version that decided each
assignment, keeps going on the last good configuration when the live one does not compile, and
isolates a lead whose routing fails in every batch and sweep loop."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.configuration.services import config_version_record, rule_reorder
from apps.engine import ConfigError
from apps.leads.models import Lead, LeadStatus
from apps.reps.models import Rep
from apps.routing import planning, services, sla, sla_pages
from apps.routing.models import Assignment, AssignmentKind, RoutingConfigState
from apps.routing.selectors import config_cache_clear, config_current
from apps.routing.tasks import route_pending
from apps.rules.models import RoutingRule
from tests.factories import LeadFactory
from tests.routing.conftest import WRITER_PATHS

pytestmark = pytest.mark.django_db


def enterprise_lead(**kwargs) -> Lead:  # type: ignore[no-untyped-def]
    return LeadFactory(company_size=5000, country="US", region="US-CA", **kwargs)


@pytest.fixture
def versioned(west_org):  # type: ignore[no-untyped-def]
    """west_org with its configuration recorded as a version (as every real change does)."""
    west_org["version"] = config_version_record(actor=None, source="system", summary="test")
    return west_org


# --- item 1: a change commits, the next lead follows it ------------------------------------


def test_a_lead_routed_right_after_a_reorder_follows_the_new_order(
    versioned, manager_user, settings
):
    # A busy worker: the fuller change check would not run again for an hour.
    settings.ROUTING_CONFIG_RECHECK_SECONDS = 3600
    enterprise, everyone = versioned["enterprise"], versioned["everyone"]
    before = services.lead_route(lead_id=enterprise_lead().pk)
    assert before.lead.rule_id == enterprise.pk

    version = rule_reorder(order=[everyone.pk, enterprise.pk], actor=manager_user)
    after = services.lead_route(lead_id=enterprise_lead().pk)  # no sleep, same process

    assert after.lead.rule_id == everyone.pk
    assert after.assignment is not None
    assert after.assignment.config_version_id == version.pk
    assert Assignment.objects.get(pk=after.assignment.pk).config_version_id == version.pk


@pytest.mark.postgres
@pytest.mark.parametrize("single_statement", WRITER_PATHS)
def test_a_first_assignment_records_its_version(versioned, pin_writers, single_statement):
    pin_writers(single_statement)
    result = services.lead_route(lead_id=enterprise_lead().pk)
    stored = Assignment.objects.get(lead=result.lead)
    assert stored.kind == AssignmentKind.AUTO
    assert stored.config_version_id == versioned["version"].pk


def test_a_retried_unrouted_lead_and_a_reroute_record_their_version(versioned, manager_user):
    lead = enterprise_lead()
    Rep.objects.update(active=False)
    config_cache_clear()
    assert services.lead_route(lead_id=lead.pk).outcome == "unrouted"
    Rep.objects.update(active=True)
    version = config_version_record(actor=None, source="system", summary="reps back")
    retried = services.lead_route(lead_id=lead.pk)
    assert retried.assignment is not None
    assert retried.assignment.kind == AssignmentKind.RETRY
    assert Assignment.objects.get(pk=retried.assignment.pk).config_version_id == version.pk

    rerouted = services.lead_reroute(lead_id=lead.pk, actor=manager_user)
    assert rerouted.assignment is not None
    assert Assignment.objects.get(pk=rerouted.assignment.pk).config_version_id == version.pk


def test_a_manual_reassign_records_the_version_in_force(versioned, manager_user):
    lead = services.lead_route(lead_id=enterprise_lead().pk).lead
    other = Rep.objects.exclude(pk=lead.owner_id).first()
    assignment = services.lead_reassign(
        lead_id=lead.pk, rep=other, note="knows the account", actor=manager_user
    )
    assert Assignment.objects.get(pk=assignment.pk).config_version_id == versioned["version"].pk


def test_a_duplicate_records_the_version_in_force(versioned):
    original = services.lead_route(lead_id=enterprise_lead(email="same@acme.com").pk)
    copy = services.lead_route(lead_id=enterprise_lead(email="same@acme.com").pk)
    assert copy.outcome == "duplicate"
    assert copy.assignment is not None
    stored = Assignment.objects.get(pk=copy.assignment.pk)
    assert stored.kind == AssignmentKind.DUPLICATE
    assert stored.rep_id == original.lead.owner_id
    assert stored.config_version_id == versioned["version"].pk


@pytest.mark.parametrize("single_statement", WRITER_PATHS)
def test_a_sweep_move_records_its_version(versioned, pin_writers, single_statement):
    pin_writers(single_statement)
    now = timezone.now()
    lead = services.lead_route(lead_id=enterprise_lead().pk, now=now).lead
    version = config_version_record(actor=None, source="system", summary="later change")
    assert sla.sla_sweep(now=now + timedelta(minutes=31))["reassigned"] == 1
    move = Assignment.objects.get(lead=lead, ended_at__isnull=True)
    assert move.kind == AssignmentKind.REASSIGN_INACTIVITY
    assert move.config_version_id == version.pk


# --- item 2: a configuration that does not compile never stops routing ---------------------


def _break_the_enterprise_rule(west_org) -> None:  # type: ignore[no-untyped-def]
    # Behind the validation's back: the rule names a territory that no longer exists.
    RoutingRule.objects.filter(pk=west_org["enterprise"].pk).update(
        target={"territory": "GONE"}, updated_at=timezone.now()
    )


def alerts() -> list[mail.EmailMessage]:
    return [message for message in mail.outbox if "does not compile" in message.subject]


def test_a_broken_configuration_routes_with_the_last_good_one_and_alerts_managers_once(
    versioned, manager_user, client, eager_tasks, django_capture_on_commit_callbacks, caplog
):
    with django_capture_on_commit_callbacks(execute=True):
        services.lead_route(lead_id=enterprise_lead().pk)  # compiles; persisted as last good
    _break_the_enterprise_rule(versioned)
    broken = config_version_record(actor=None, source="system", summary="broken")

    with django_capture_on_commit_callbacks(execute=True):
        result = services.lead_route(lead_id=enterprise_lead().pk)
    # Routed by the last good configuration: the enterprise rule still targets US-WEST.
    assert result.outcome == "assigned"
    assert result.lead.rule_id == versioned["enterprise"].pk
    assert Assignment.objects.get(lead=result.lead).config_version_id == versioned["version"].pk
    assert "does not compile" in caplog.text

    (alert,) = alerts()
    assert alert.to == [manager_user.email]
    assert f"v{broken.number} does not compile" in alert.subject
    assert "GONE" in alert.body

    # Another process (nothing in memory) falls back to the persisted last good configuration,
    # and the managers are not told twice about the same broken version.
    config_cache_clear()
    with django_capture_on_commit_callbacks(execute=True):
        again = services.lead_route(lead_id=enterprise_lead().pk)
    assert again.outcome == "assigned"
    assert again.lead.rule_id == versioned["enterprise"].pk
    assert len(alerts()) == 1
    state = RoutingConfigState.objects.get()
    assert state.broken_version_number == broken.number
    assert state.good_version_number == versioned["version"].number

    body = client.get("/healthz").json()
    assert body["status"] == "degraded"
    assert any(f"v{broken.number} does not compile" in reason for reason in body["reasons"])

    # Fixed: the live configuration is used again and the state is clear.
    RoutingRule.objects.filter(pk=versioned["enterprise"].pk).update(
        target={"territory": "US-WEST"}, updated_at=timezone.now()
    )
    config_version_record(actor=None, source="system", summary="fixed")
    with django_capture_on_commit_callbacks(execute=True):
        assert config_current().broken_errors is None
    assert RoutingConfigState.objects.get().broken_since is None
    assert client.get("/healthz").json()["status"] == "ok"


def test_healthz_names_a_break_made_outside_a_versioned_edit(
    versioned, client, eager_tasks, django_capture_on_commit_callbacks
):
    """Found in the end-to-end trial: a rule broken by SQL (no new version) read
    "v3 does not compile; routing uses v3, the last that compiled"."""
    with django_capture_on_commit_callbacks(execute=True):
        services.lead_route(lead_id=enterprise_lead().pk)
    _break_the_enterprise_rule(versioned)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.lead_route(lead_id=enterprise_lead().pk).outcome == "assigned"
    number = versioned["version"].number
    body = client.get("/healthz").json()
    assert body["status"] == "degraded"
    (reason,) = [r for r in body["reasons"] if "does not compile" in r]
    assert reason.startswith(
        f"routing configuration v{number}, as changed since outside a versioned edit, "
        "does not compile (rules."
    )
    assert reason.endswith(f"routing uses v{number} as it last compiled")


def test_simulate_and_the_sweep_keep_working_on_a_broken_configuration(versioned, manager_client):
    now = timezone.now()
    lead = services.lead_route(lead_id=enterprise_lead().pk, now=now).lead
    _break_the_enterprise_rule(versioned)
    response = manager_client.post(
        "/api/routing/simulate/",
        {"email": "sim@acme.com", "company_size": 5000, "country": "US", "region": "US-CA"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert sla.sla_sweep(now=now + timedelta(minutes=31))["reassigned"] == 1
    lead.refresh_from_db()
    assert lead.reassignment_count == 1


def test_a_configuration_that_never_compiled_is_reported(
    west_org, manager_user, client, eager_tasks, django_capture_on_commit_callbacks
):
    _break_the_enterprise_rule(west_org)
    lead = enterprise_lead(created_at=timezone.now() - timedelta(minutes=10))
    with pytest.raises(ConfigError):
        config_current()
    # route_pending says so once instead of failing lead by lead, and managers are told.
    with django_capture_on_commit_callbacks(execute=True):  # outside a transaction in production
        assert route_pending() == {"config_error": 1}
    assert len(alerts()) == 1
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.NEW
    body = client.get("/healthz").json()
    assert body["status"] == "degraded"
    assert any("routing is stopped" in reason for reason in body["reasons"])


# --- item 2: batch and sweep loops isolate a failing lead ----------------------------------


def _failing_for(lead_id: int, real):  # type: ignore[no-untyped-def]
    def facts(lead):  # type: ignore[no-untyped-def]
        if lead.pk == lead_id:
            raise RuntimeError(f"corrupt lead {lead_id}")
        return real(lead)

    return facts


def test_route_pending_routes_the_others_when_one_lead_fails(west_org, monkeypatch, caplog):
    old = timezone.now() - timedelta(minutes=10)
    leads = [enterprise_lead(created_at=old) for _ in range(4)]
    bad = leads[1]
    monkeypatch.setattr(planning, "lead_facts", _failing_for(bad.pk, planning.lead_facts))
    counts = route_pending()
    assert counts == {"assigned": 3, "error": 1}
    statuses = dict(Lead.objects.values_list("pk", "status"))
    assert statuses[bad.pk] == LeadStatus.NEW  # left for the next run
    assert [statuses[lead.pk] for lead in leads if lead != bad] == [LeadStatus.ASSIGNED] * 3
    assert f"lead {bad.pk} failed" in caplog.text


def test_a_route_lead_batch_with_a_failing_lead_still_routes_its_own(west_org, monkeypatch):
    bad = enterprise_lead()
    good = enterprise_lead()
    monkeypatch.setattr(planning, "lead_facts", _failing_for(bad.pk, planning.lead_facts))
    # The good lead's task takes the waiting bad one along in its batch.
    assert services.lead_route(lead_id=good.pk, batch=10).outcome == "assigned"
    assert Lead.objects.get(pk=bad.pk).status == LeadStatus.NEW


def test_the_sweep_moves_the_others_when_one_lead_fails(west_org, monkeypatch, caplog):
    now = timezone.now()
    leads = [services.lead_route(lead_id=enterprise_lead().pk, now=now).lead for _ in range(4)]
    bad = leads[2]
    real = sla_pages.move

    def move(page, lead, **kwargs):  # type: ignore[no-untyped-def]
        if lead.pk == bad.pk:
            raise RuntimeError("engine bug")
        return real(page, lead, **kwargs)

    monkeypatch.setattr(sla_pages, "move", move)
    counts = sla.sla_sweep(now=now + timedelta(minutes=31))
    assert (counts["reassigned"], counts["errors"]) == (3, 1)
    assert Lead.objects.get(pk=bad.pk).reassignment_count == 0  # the next sweep retries it
    assert f"lead {bad.pk} failed" in caplog.text


def test_the_hot_path_reads_the_version_along_with_the_lead_lock(versioned, settings):
    settings.ROUTING_CONFIG_RECHECK_SECONDS = 3600  # no fuller check due
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    services.lead_route(lead_id=enterprise_lead().pk)  # compiles the configuration
    lead = enterprise_lead()
    with CaptureQueriesContext(connection) as queries:
        services.lead_route(lead_id=lead.pk)
    reads = [q["sql"] for q in queries if "configuration_routingconfigversion" in q["sql"]]
    # One statement locks the lead and reads the newest version: no extra round trip.
    assert len(reads) == 1
    assert "FOR UPDATE" in reads[0] or connection.vendor != "postgresql"

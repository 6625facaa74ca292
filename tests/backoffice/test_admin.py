"""The admin works for a RevOps manager: every page opens, audit records stay immutable."""

from __future__ import annotations

import json
from datetime import time, timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Account
from apps.configuration.models import RoutingConfigVersion
from apps.leads.models import Lead, LeadActivity, LeadImport, LeadImportMapping
from apps.notifications.models import LeadNotice, NoticeKind, WebhookDelivery, WebhookEndpoint
from apps.reps.models import Rep, TimeOff, WorkingHours
from apps.routing.models import Assignment, OutboxMessage, RotationState
from apps.rules.models import RoutingRule
from apps.rules.summaries import conditions_summary, target_summary
from apps.territories.models import Territory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def world(db):
    """A small configuration with one routed lead and its records."""
    west = Territory.objects.create(code="US-WEST", name="US West", regions=["US-CA"])
    user = User.objects.create_user("alice", "alice@example.com", "pw", first_name="Alice")
    rep = Rep.objects.create(user=user, time_zone="America/Los_Angeles", languages=["en"])
    rep.territories.add(west)
    WorkingHours.objects.create(rep=rep, weekdays=[0, 1, 2, 3, 4], start=time(9), end=time(17))
    now = timezone.now()
    TimeOff.objects.create(
        rep=rep, starts_at=now, ends_at=now + timedelta(days=2), reason="vacation"
    )
    rule = RoutingRule.objects.create(
        name="Enterprise West",
        position=1,
        conditions=[
            {"field": "company_size", "op": "gte", "value": 1000},
            {"field": "territory", "op": "within", "value": "US-WEST"},
            {
                "any": [
                    {"field": "lead_source", "op": "eq", "value": "webinar"},
                    {"field": "industry", "op": "in", "value": ["health", "fin"]},
                ]
            },
        ],
        target={"territory": "US-WEST"},
        sla_minutes=30,
    )
    RotationState.objects.create(rule=rule, data={"cursor": 0})
    version = RoutingConfigVersion.objects.create(number=1, document={"version": 1, "rules": []})
    lead = Lead.objects.create(
        email="jane@acme.com",
        email_domain="acme.com",
        status="assigned",
        owner=rep,
        territory=west,
        rule=rule,
        assigned_at=now,
    )
    assignment = Assignment.objects.create(
        lead=lead,
        rep=rep,
        rule=rule,
        rule_name=rule.name,
        config_version=version,
        kind="auto",
        reason="Enterprise West: round robin among 1 eligible rep of US-WEST",
        trace={"outcome": "assigned", "rules": [{"rule": "Enterprise West"}]},
    )
    LeadActivity.objects.create(lead=lead, kind="assigned", note="to alice")
    Account.objects.create(domain="acme.com", name="Acme", owner=rep)
    endpoint = WebhookEndpoint.objects.create(
        url="https://hooks.example.com/routing", event_types=["lead.assigned"], secret="s3cret"
    )
    WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="lead.assigned", payload={"lead": lead.pk}
    )
    LeadNotice.objects.create(lead=lead, kind=NoticeKind.values[0])
    OutboxMessage.objects.create(
        lead=lead, assignment=assignment, kind="assigned_mail", occurred_at=now
    )
    LeadImport.objects.create(file_name="leads.csv", status="done", rows=2, imported=2)
    LeadImportMapping.objects.create(name="crm", columns={"Work Mail": "email"})
    return {
        "rep": rep,
        "rule": rule,
        "lead": lead,
        "assignment": assignment,
        "version": version,
        "territory": west,
    }


def _url(model, action, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def test_every_changelist_and_add_page_opens(admin_client, world, rf, superuser):
    request = rf.get("/")
    request.user = superuser
    for model, model_admin in admin.site._registry.items():
        response = admin_client.get(_url(model, "changelist"))
        assert response.status_code == 200, model
        if model_admin.has_add_permission(request):
            response = admin_client.get(_url(model, "add"))
            assert response.status_code == 200, model


def test_every_change_page_of_our_models_opens(admin_client, world, rf, superuser):
    request = rf.get("/")
    request.user = superuser
    for model, model_admin in admin.site._registry.items():
        if not model.__module__.startswith("apps."):
            continue
        obj = model_admin.get_queryset(request).first()
        assert obj is not None, model
        response = admin_client.get(_url(model, "change", obj.pk))
        assert response.status_code == 200, model
        history = admin_client.get(_url(model, "history", obj.pk))
        assert history.status_code == 200, model


def test_rep_change_page_shows_inlines(admin_client, world):
    response = admin_client.get(_url(Rep, "change", world["rep"].pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert "working_hours-TOTAL_FORMS" in body
    assert "time_off-TOTAL_FORMS" in body
    assert "America/Los_Angeles" in body


def _rep_post_data(rep, **overrides):
    data = {
        "user": rep.user_id,
        "time_zone": rep.time_zone,
        "active": "on",
        "territories": [t.pk for t in rep.territories.all()],
        "weight": "1",
        "max_open_leads": "",
        "max_daily_leads": "",
        "skills": "Healthcare, fintech, healthcare",
        "languages": "en, ES",
        "working_hours-TOTAL_FORMS": "0",
        "working_hours-INITIAL_FORMS": "0",
        "time_off-TOTAL_FORMS": "0",
        "time_off-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_rep_post_with_bad_time_zone_shows_the_error(admin_client, world):
    rep = world["rep"]
    response = admin_client.post(
        _url(Rep, "change", rep.pk), _rep_post_data(rep, time_zone="Mars/Olympus_Mons")
    )
    assert response.status_code == 200
    assert "Mars/Olympus_Mons is not one of the available choices" in response.content.decode()
    rep.refresh_from_db()
    assert rep.time_zone == "America/Los_Angeles"


def test_rep_post_with_bad_language_shows_the_error(admin_client, world):
    rep = world["rep"]
    response = admin_client.post(
        _url(Rep, "change", rep.pk), _rep_post_data(rep, languages="en, xx")
    )
    assert response.status_code == 200
    assert "is not an ISO 639-1 code" in response.content.decode()


def test_rep_post_saves_comma_separated_lists(admin_client, world):
    rep = world["rep"]
    response = admin_client.post(
        _url(Rep, "change", rep.pk), _rep_post_data(rep, time_zone="Europe/Paris")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    rep.refresh_from_db()
    assert rep.time_zone == "Europe/Paris"
    assert rep.skills == ["fintech", "healthcare"]
    assert rep.languages == ["en", "es"]


def test_rep_actions_mark_away_and_deactivate(admin_client, world):
    rep = world["rep"]
    url = _url(Rep, "changelist")
    admin_client.post(url, {"action": "mark_away", "_selected_action": [rep.pk]})
    admin_client.post(url, {"action": "deactivate", "_selected_action": [rep.pk]})
    rep.refresh_from_db()
    assert rep.away is True
    assert rep.active is False
    assert rep.history.count() >= 3


@pytest.mark.parametrize("model_key", ["assignment", "version"])
def test_audit_records_cannot_be_added_or_deleted(admin_client, world, superuser, rf, model_key):
    obj = world[model_key]
    model = type(obj)
    model_admin = admin.site._registry[model]
    request = rf.get("/")
    request.user = superuser
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_delete_permission(request, obj)
    assert not model_admin.has_change_permission(request, obj)
    assert "delete_selected" not in model_admin.get_actions(request)

    assert admin_client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert admin_client.get(_url(model, "add")).status_code == 403
    assert admin_client.post(_url(model, "change", obj.pk), {}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()

    response = admin_client.get(_url(model, "change", obj.pk))
    assert response.status_code == 200
    assert '<pre class="rp-json">' in response.content.decode()


def test_leads_cannot_be_deleted(admin_client, world):
    lead = world["lead"]
    assert admin_client.post(_url(Lead, "delete", lead.pk), {"post": "yes"}).status_code == 403
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_lead_page_shows_assignment_history_read_only(admin_client, world):
    response = admin_client.get(_url(Lead, "change", world["lead"].pk))
    body = response.content.decode()
    assert "round robin among 1 eligible rep" in body
    assert 'name="owner"' not in body
    assert 'name="status"' not in body


def test_rule_changelist_shows_condition_summary(admin_client, world):
    response = admin_client.get(_url(RoutingRule, "changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "company_size ≥ 1000 AND territory within US-WEST" in body
    assert "territory US-WEST" in body


def test_lead_changelist_has_no_n_plus_one(admin_client, world, django_assert_max_num_queries):
    for i in range(10):
        Lead.objects.create(
            email=f"l{i}@x.com",
            email_domain="x.com",
            status="assigned",
            owner=world["rep"],
            territory=world["territory"],
            rule=world["rule"],
            assigned_at=timezone.now(),
        )
    with django_assert_max_num_queries(15):
        assert admin_client.get(_url(Lead, "changelist")).status_code == 200


def test_rep_changelist_has_no_n_plus_one(admin_client, world, django_assert_max_num_queries):
    for i in range(10):
        user = User.objects.create_user(f"rep{i}")
        Rep.objects.create(user=user).territories.add(world["territory"])
    with django_assert_max_num_queries(15):
        assert admin_client.get(_url(Rep, "changelist")).status_code == 200


def test_revops_manager_can_open_the_rules_changelist(client, world):
    user = User.objects.create_user("manager", "m@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="RevOps managers"))
    client.force_login(user)
    response = client.get(_url(RoutingRule, "changelist"))
    assert response.status_code == 200
    assert "Enterprise West" in response.content.decode()
    # ...and sees, but cannot touch, the assignment records.
    assert client.get(_url(Assignment, "changelist")).status_code == 200
    assignment = world["assignment"]
    assert (
        client.post(_url(Assignment, "delete", assignment.pk), {"post": "yes"}).status_code == 403
    )


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ([], "every lead"),
        (
            [
                {"field": "company_size", "op": "gte", "value": 1000},
                {"field": "territory", "op": "within", "value": "US-WEST"},
                {
                    "any": [
                        {"field": "lead_source", "op": "eq", "value": "webinar"},
                        {"field": "country", "op": "in", "value": ["US", "CA"]},
                    ]
                },
            ],
            "company_size ≥ 1000 AND territory within US-WEST AND "
            '(lead_source = "webinar" OR country in (US, CA))',
        ),
        ([{"field": "extra.vip", "op": "exists", "value": True}], "extra.vip exists"),
        ([{"field": "industry", "op": "ne", "value": "retail"}], 'industry ≠ "retail"'),
        ("garbage", '"garbage"'),
    ],
)
def test_conditions_summary(conditions, expected):
    assert conditions_summary(conditions) == expected


def test_target_summary():
    assert target_summary({"territory": "US-WEST"}) == "territory US-WEST"
    assert target_summary({"territory": "$lead"}).startswith("the lead's territory")
    assert target_summary({"reps": [{"username": "a", "weight": 2}, {"username": "b"}]}) == (
        "reps a ×2, b"
    )
    assert target_summary(None, "account_owner") == "the account owner"


def _rule_post_data(rule, **overrides):
    data = {
        "name": rule.name,
        "description": "",
        "active": "on",
        "conditions": '[{"field": "company_size", "op": "gte", "value": 500}]',
        "strategy": "round_robin",
        "target": '{"territory": "US-WEST"}',
        "sla_minutes": "45",
        "require_skill_from": "",
        "when_no_one_eligible": "next_rule",
    }
    data.update(overrides)
    return data


def test_rule_edit_saves_json_and_records_history(admin_client, world):
    rule = world["rule"]
    response = admin_client.post(_url(RoutingRule, "change", rule.pk), _rule_post_data(rule))
    assert response.status_code == 302, response.content.decode()[:3000]
    rule.refresh_from_db()
    assert rule.conditions == [{"field": "company_size", "op": "gte", "value": 500}]
    assert rule.sla_minutes == 45
    assert rule.history.count() == 2


def test_rule_edit_with_bad_json_or_unknown_field_shows_errors(admin_client, world):
    rule = world["rule"]
    url = _url(RoutingRule, "change", rule.pk)
    response = admin_client.post(url, _rule_post_data(rule, conditions="[{oops"))
    assert response.status_code == 200
    assert "Enter a valid JSON" in response.content.decode()
    response = admin_client.post(
        url, _rule_post_data(rule, conditions='[{"field": "colour", "op": "eq", "value": 1}]')
    )
    assert response.status_code == 200
    assert "colour" in response.content.decode()
    rule.refresh_from_db()
    assert rule.sla_minutes == 30


def test_drag_and_drop_reorder_is_recorded_in_history(admin_client, world):
    first = world["rule"]
    second = RoutingRule.objects.create(
        name="Everyone else", position=2, target={"territory": "$lead"}
    )
    url = reverse("admin:rules_routingrule_sortable_update")
    response = admin_client.post(
        url,
        data=json.dumps({"updatedItems": [[second.pk, 1], [first.pk, 2]]}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["Everyone else", first.name]
    # the drop goes through the configuration's reorder: positions renumbered from 0
    assert first.history.first().position == 1
    assert second.history.first().position == 0

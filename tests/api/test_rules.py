"""Rule CRUD by id, reorder, history for audits, versions (API and admin)."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from apps.configuration.models import RoutingConfigVersion
from apps.routing.models import RotationState
from apps.rules.models import RoutingRule
from apps.rules.selectors import rule_history
from tests.factories import RuleFactory

URL = "/api/rules/"


def test_list_in_position_order_with_id_and_position(manager_client, west_org):
    body = manager_client.get(URL).json()
    assert [(r["id"], r["position"], r["name"]) for r in body["results"]] == [
        (west_org["enterprise"].pk, 0, "Enterprise West"),
        (west_org["everyone"].pk, 1, "Everyone else"),
    ]
    assert body["results"][0]["target"] == {"territory": "US-WEST"}
    assert manager_client.get(URL + "?strategy=load_balanced").json()["count"] == 1


def test_crud_keeps_ids_and_records_versions(manager_client, manager_user, west_org):
    created = manager_client.post(
        URL,
        {
            "name": "Webinars",
            "position": 0,
            "strategy": "load_balanced",
            "conditions": [{"field": "lead_source", "op": "eq", "value": "webinar"}],
            "target": {"territory": "US-WEST"},
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    rule_id = created.json()["id"]
    assert created.json()["position"] == 0
    assert [r["name"] for r in manager_client.get(URL).json()["results"]] == [
        "Webinars",
        "Enterprise West",
        "Everyone else",
    ]
    enterprise = west_org["enterprise"]
    RotationState.objects.create(rule=enterprise, data={"US-WEST": {"last": 3}})
    renamed = manager_client.patch(
        f"{URL}{enterprise.pk}/", {"name": "Enterprise (West)", "sla_minutes": 20}, format="json"
    )
    assert renamed.status_code == 200, renamed.json()
    assert (renamed.json()["id"], renamed.json()["name"]) == (enterprise.pk, "Enterprise (West)")
    assert RotationState.objects.get(rule_id=enterprise.pk).data == {"US-WEST": {"last": 3}}
    moved = manager_client.patch(f"{URL}{rule_id}/", {"position": 5}, format="json")
    assert moved.json()["position"] == 2
    assert manager_client.delete(f"{URL}{rule_id}/").status_code == 204
    assert not RoutingRule.objects.filter(pk=rule_id).exists()
    versions = RoutingConfigVersion.objects.order_by("number")
    assert [v.summary for v in versions] == [
        "rules: +1 ~2 -0",
        "rules: +0 ~1 -0",
        "rules: +0 ~3 -0",
        "rules: +0 ~0 -1",
    ]
    assert all(v.author == manager_user and v.source == "api" for v in versions)


def test_bad_rule_is_400_naming_the_field(manager_client, west_org):
    response = manager_client.post(
        URL,
        {
            "name": "Bad",
            "strategy": "round_robin",
            "target": {"territory": "NOPE"},
            "conditions": [{"field": "colour", "op": "eq", "value": "red"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "conditions": ["unknown field 'colour'"],
        "target": ["unknown territory 'NOPE'"],
    }
    assert manager_client.post(
        URL, {"name": "Enterprise West", "target": {"territory": "US-WEST"}}, format="json"
    ).json() == {"name": ["'Enterprise West' already exists."]}
    assert manager_client.patch(
        f"{URL}{west_org['everyone'].pk}/", {"position": -1}, format="json"
    ).json() == {"position": ["Ensure this value is greater than or equal to 0."]}
    assert RoutingRule.objects.count() == 2
    assert RoutingConfigVersion.objects.count() == 0


def test_reorder(manager_client, west_org):
    enterprise, everyone = west_org["enterprise"], west_org["everyone"]
    response = manager_client.post(
        URL + "reorder/", {"order": [everyone.pk, enterprise.pk]}, format="json"
    )
    assert response.status_code == 200
    assert [r["name"] for r in response.json()] == ["Everyone else", "Enterprise West"]
    version = RoutingConfigVersion.objects.get()
    assert (version.source, version.summary) == ("reorder", "rules: +0 ~2 -0")


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ("first", None),
        ("missing", "missing"),
        ("dup", "repeated"),
        ("unknown", "unknown rule ids [999]"),
    ],
)
def test_reorder_bad_orders(manager_client, west_org, order, message):
    a, b = west_org["enterprise"].pk, west_org["everyone"].pk
    body = {
        "first": {"order": "x"},
        "dup": {"order": [a, a, b]},
        "unknown": {"order": [a, b, 999]},
    }.get(order, {"order": [a]})
    response = manager_client.post(URL + "reorder/", body, format="json")
    assert response.status_code == 400
    errors = response.json()["order"]
    if message:
        assert message in errors[0]
    assert RoutingConfigVersion.objects.count() == 0
    assert RoutingRule.objects.get(pk=a).position == 0


def test_history_endpoint(manager_client, manager_user, west_org):
    rule = west_org["enterprise"]
    manager_client.patch(f"{URL}{rule.pk}/", {"sla_minutes": 10, "conditions": []}, format="json")
    response = manager_client.get(f"{URL}{rule.pk}/history/")
    assert response.status_code == 200
    history = response.json()
    assert [(h["user"], h["summary"]) for h in history] == [
        (None, "created"),
        ("manager", "conditions, sla_minutes changed"),
    ]
    assert history == json.loads(
        json.dumps(rule_history(rule=rule), default=lambda d: d.isoformat().replace("+00:00", "Z"))
    )


def test_permissions(west_org):
    rep = APIClient()
    rep.force_authenticate(west_org["reps"][0].user)
    rule = west_org["enterprise"]
    assert APIClient().get(URL).status_code == 401
    assert rep.get(URL).status_code == 200
    assert rep.get(f"{URL}{rule.pk}/").status_code == 200
    assert rep.get(f"{URL}{rule.pk}/history/").status_code == 403
    assert rep.post(URL, {"name": "x"}, format="json").status_code == 403
    assert rep.patch(f"{URL}{rule.pk}/", {"active": False}, format="json").status_code == 403
    assert rep.delete(f"{URL}{rule.pk}/").status_code == 403
    assert rep.post(URL + "reorder/", {"order": []}, format="json").status_code == 403
    assert APIClient().post(URL + "reorder/", {"order": []}, format="json").status_code == 401


@pytest.mark.parametrize("rows", [5, 200])
def test_list_query_count(manager_client, db, rows, django_assert_max_num_queries):
    for i in range(rows):
        RuleFactory(name=f"R{i}", target={"territory": "$lead"})
    with django_assert_max_num_queries(4):
        assert manager_client.get(URL + "?page_size=500").json()["count"] == rows


# --- admin edits record versions too -------------------------------------------------------------


@pytest.fixture
def admin_client(client, west_org):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def test_admin_rule_edit_and_delete_record_versions(admin_client, west_org):
    rule = west_org["everyone"]
    data = {
        "name": rule.name,
        "description": "",
        "active": "on",
        "conditions": "[]",
        "strategy": "load_balanced",
        "target": '{"territory": "$lead"}',
        "sla_minutes": "25",
        "require_skill_from": "",
        "when_no_one_eligible": "next_rule",
    }
    response = admin_client.post(f"/admin/rules/routingrule/{rule.pk}/change/", data)
    assert response.status_code == 302
    version = RoutingConfigVersion.objects.get()
    assert (version.source, version.author.username) == ("admin", "root")
    assert version.summary == "routing rule Everyone else changed"
    assert version.document["rules"][1]["sla_minutes"] == 25
    admin_client.post(f"/admin/rules/routingrule/{rule.pk}/delete/", {"post": "yes"})
    latest = RoutingConfigVersion.objects.order_by("-number").first()
    assert latest.summary == "routing rule Everyone else deleted"
    assert [r["name"] for r in latest.document["rules"]] == ["Enterprise West"]

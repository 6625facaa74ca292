"""Configuration as code: export, validate, apply atomically, version, round trip."""

from __future__ import annotations

import copy
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from apps.accounts.models import Account
from apps.api.configuration.views import DOCUMENT_EXAMPLE
from apps.configuration.export import routing_config_export
from apps.configuration.models import RoutingConfigVersion
from apps.configuration.services import routing_config_apply
from apps.reps.models import Rep, TimeOff, WorkingHours
from apps.routing.models import Assignment, RotationState
from apps.rules.models import RoutingRule
from apps.territories.models import Territory
from tests.factories import AccountFactory, LeadFactory, TimeOffFactory, WorkingHoursFactory

URL = "/api/routing/config/"
# The example published in the OpenAPI docs (API.md's document) must apply as documented.
API_EXAMPLE = DOCUMENT_EXAMPLE


@pytest.fixture
def configured(west_org):
    """west_org plus hours, time off and an account, so every part of the document is used."""
    alice, bob, _ = west_org["reps"]
    WorkingHoursFactory(rep=alice, weekdays=[0, 1, 2, 3, 4], start="09:00", end="17:00")
    WorkingHoursFactory(rep=alice, weekdays=[5], start="22:00", end="02:00")
    TimeOffFactory(
        rep=bob, starts_at="2026-12-21T00:00:00Z", ends_at="2027-01-04T00:00:00Z", reason="vacation"
    )
    AccountFactory(domain="acme.com", name="Acme", owner=alice)
    return west_org


def _counts() -> dict[str, int]:
    return {
        "territories": Territory.objects.count(),
        "reps": Rep.objects.count(),
        "hours": WorkingHours.objects.count(),
        "time_off": TimeOff.objects.count(),
        "accounts": Account.objects.count(),
        "rules": RoutingRule.objects.count(),
        "versions": RoutingConfigVersion.objects.count(),
    }


def test_export_has_every_field_in_position_order(configured):
    doc = routing_config_export()
    assert doc["version"] == 1
    assert [t["code"] for t in doc["territories"]] == ["AMER", "US-WEST"]
    assert [r["name"] for r in doc["rules"]] == ["Enterprise West", "Everyone else"]
    alice = doc["reps"][0]
    assert set(alice) == {
        "username",
        "name",
        "email",
        "time_zone",
        "active",
        "territories",
        "weight",
        "max_open_leads",
        "max_daily_leads",
        "skills",
        "languages",
        "working_hours",
        "time_off",
    }
    assert alice["working_hours"][0] == {
        "weekdays": [0, 1, 2, 3, 4],
        "start": "09:00",
        "end": "17:00",
    }
    bob = doc["reps"][1]
    assert bob["time_off"] == [
        {
            "starts_at": "2026-12-21T00:00:00Z",
            "ends_at": "2027-01-04T00:00:00Z",
            "reason": "vacation",
        }
    ]
    assert doc["accounts"] == [{"domain": "acme.com", "name": "Acme", "owner": "alice"}]
    rule = doc["rules"][0]
    for key in (
        "active",
        "conditions",
        "target",
        "strategy",
        "sla_minutes",
        "respect_working_hours",
        "require_skill_from",
        "require_language",
        "when_no_one_eligible",
    ):
        assert key in rule


def test_get_put_get_round_trip_is_identical(manager_client, configured):
    first = manager_client.get(URL)
    assert first.status_code == 200
    put = manager_client.put(URL, first.json(), format="json")
    assert put.status_code == 200, put.json()
    assert put.json()["version"] == 1
    assert put.json()["summary"] == "no changes"
    assert manager_client.get(URL).json() == first.json()


def test_export_import_commands_round_trip(configured, tmp_path):
    path = tmp_path / "config.json"
    call_command("export_routing_config", str(path))
    before = json.loads(path.read_text())
    out = io.StringIO()
    call_command("import_routing_config", str(path), "--note", "weekly", stdout=out)
    assert "version 1" in out.getvalue()
    stdout = io.StringIO()
    call_command("export_routing_config", stdout=stdout)
    after = json.loads(stdout.getvalue())
    # The export names the version it is: none before, the imported one after.
    assert (before.pop("based_on_version"), after.pop("based_on_version")) == (0, 1)
    assert after == before
    version = RoutingConfigVersion.objects.get()
    assert (version.source, version.note, version.author) == ("import", "weekly", None)


def test_import_dry_run_changes_nothing(configured, tmp_path):
    doc = routing_config_export()
    doc["rules"].pop()
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    before = _counts()
    out = io.StringIO()
    call_command("import_routing_config", str(path), "--dry-run", stdout=out)
    assert "valid" in out.getvalue()
    assert _counts() == before


def test_import_invalid_file_prints_every_error_and_fails(configured, tmp_path):
    doc = routing_config_export()
    doc["reps"][0]["time_zone"] = "Mars/Base"
    doc["rules"][0]["conditions"][0]["field"] = "colour"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_routing_config", str(path), stderr=err)
    text = err.getvalue()
    assert "reps.0.time_zone: 'Mars/Base' is not an IANA time zone." in text
    assert "rules.0.conditions: unknown field 'colour'" in text
    assert RoutingConfigVersion.objects.count() == 0


def test_import_file_that_is_not_json_fails_cleanly(db, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("import_routing_config", str(path))


def test_api_example_document_applies(manager_client, manager_user, db):
    response = manager_client.put(URL, API_EXAMPLE, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "version": 1,
        "summary": "territories: +2 ~0 -0; reps: +1 ~0 -0; accounts: +1 ~0 -0; rules: +3 ~0 -0",
    }
    alice = Rep.objects.get(user__username="alice")
    assert alice.user.get_full_name() == "Alice Ng"
    assert not alice.user.has_usable_password()
    assert Account.objects.get().owner == alice
    doc = manager_client.get(URL).json()
    assert [r["name"] for r in doc["rules"]] == [
        "Named accounts",
        "Enterprise West",
        "Everyone else",
    ]
    assert doc["rules"][0]["target"] is None
    # A second apply of its own export changes nothing.
    again = manager_client.put(URL, doc, format="json")
    assert again.json() == {"version": 2, "summary": "no changes"}
    assert manager_client.get(URL).json() == doc


def test_invalid_document_returns_every_error_by_path_and_changes_nothing(
    manager_client, configured
):
    doc = routing_config_export()
    bad = copy.deepcopy(doc)
    bad["reps"][0]["time_zone"] = "Mars/Base"
    bad["reps"][1]["max_open_leads"] = -1
    bad["reps"][0]["name"] = "Changed Name"
    bad["rules"][0]["conditions"].append({"field": "colour", "op": "eq", "value": "red"})
    bad["rules"][1]["target"] = {"territory": "NOWHERE"}
    bad["rules"][1]["sla_minutes"] = 999
    bad["accounts"][0]["owner"] = "zed"
    bad["territories"].append(
        {"code": "EMEA", "name": "EMEA", "countries": ["XX"], "shape": "round"}
    )
    before = _counts()

    response = manager_client.put(URL, bad, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "reps": {
            "0": {"time_zone": ["'Mars/Base' is not an IANA time zone."]},
            "1": {"max_open_leads": ["Ensure this value is greater than or equal to 0."]},
        },
        "rules": {
            "0": {"conditions": ["unknown field 'colour'"]},
            "1": {"target": ["unknown territory 'NOWHERE'"]},
        },
        "accounts": {"0": {"owner": ["unknown rep 'zed'"]}},
        "territories": {
            "2": {
                "countries": {"0": ["'XX' is not an ISO 3166-1 alpha-2 code."]},
                "shape": ["unknown field 'shape'"],
            },
        },
    }
    assert _counts() == before
    assert configured["reps"][0].user.get_full_name() != "Changed Name"
    assert RoutingRule.objects.get(name="Everyone else").sla_minutes is None


def test_unknown_condition_field_colour_is_named_at_rules_n_conditions(manager_client, configured):
    doc = routing_config_export()
    doc["rules"][1]["conditions"] = [{"field": "colour", "op": "eq", "value": "red"}]
    response = manager_client.put(URL, doc, format="json")
    assert response.status_code == 400
    assert response.json() == {"rules": {"1": {"conditions": ["unknown field 'colour'"]}}}


def test_unknown_keys_in_document_and_items(manager_client, configured):
    doc = routing_config_export()
    doc["colour"] = "blue"
    doc["rules"][0]["colour"] = "blue"
    doc["reps"][0]["working_hours"][0]["colour"] = "blue"
    response = manager_client.put(URL, doc, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "colour": ["unknown field 'colour'"],
        "rules": {"0": {"colour": ["unknown field 'colour'"]}},
        "reps": {"0": {"working_hours": {"0": {"colour": ["unknown field 'colour'"]}}}},
    }


def test_cycle_in_territory_tree_is_rejected(manager_client, configured):
    doc = routing_config_export()
    doc["territories"][0]["parent"] = "US-WEST"  # AMER under US-WEST under AMER
    response = manager_client.put(URL, doc, format="json")
    assert response.status_code == 400
    errors = response.json()["territories"]
    assert errors["0"]["parent"] == ["parent cycle: AMER -> US-WEST -> AMER"]
    assert errors["1"]["parent"] == ["parent cycle: US-WEST -> AMER -> US-WEST"]
    assert Territory.objects.get(code="AMER").parent is None


def test_unknown_references_and_duplicates(manager_client, configured):
    doc = routing_config_export()
    doc["territories"][1]["parent"] = "EMEA"
    doc["reps"][2]["territories"] = ["APAC"]
    doc["reps"].append(dict(doc["reps"][0]))
    doc["accounts"].append(dict(doc["accounts"][0]))
    doc["rules"].append({**doc["rules"][0], "key": "another-key"})
    doc["rules"][1]["target"] = {"reps": [{"username": "zed"}]}
    response = manager_client.put(URL, doc, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "territories": {"1": {"parent": ["unknown parent territory 'EMEA'"]}},
        "reps": {
            "2": {"territories": ["unknown territory 'APAC'"]},
            "3": {"username": ["duplicate username 'alice'"]},
        },
        "accounts": {"1": {"domain": ["duplicate account domain 'acme.com'"]}},
        "rules": {
            "1": {"target": ["unknown rep 'zed'"]},
            "2": {"name": ["duplicate rule name 'Enterprise West'"]},
        },
    }


def test_overlapping_working_hours_and_time_off_of_one_rep(manager_client, configured):
    doc = routing_config_export()
    alice = doc["reps"][0]
    alice["working_hours"].append({"weekdays": [2], "start": "16:00", "end": "18:00"})
    alice["working_hours"].append(
        {"weekdays": [6], "start": "01:00", "end": "03:00"}
    )  # Sat 22-02 wraps
    alice["time_off"] = [
        {"starts_at": "2026-07-01T00:00:00Z", "ends_at": "2026-07-10T00:00:00Z", "reason": "other"},
        {
            "starts_at": "2026-07-09T00:00:00+02:00",
            "ends_at": "2026-07-12T00:00:00Z",
            "reason": "training",
        },
    ]
    alice["working_hours"].append({"weekdays": [1], "start": "10:00", "end": "10:00"})
    response = manager_client.put(URL, doc, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "reps": {
            "0": {
                "working_hours": {
                    "non_field_errors": [
                        "working hours 0 and 2 overlap on Wed",
                        "working hours 1 and 3 overlap on Sun",
                    ],
                    "4": {"end": ["start and end must differ"]},
                },
                "time_off": ["time off 0 and 1 overlap"],
            }
        }
    }
    # Saturday 22:00-02:00 runs into Sunday morning: a Sunday 01:00 window clashes with it.
    doc2 = routing_config_export()
    doc2["reps"][0]["working_hours"].append({"weekdays": [6], "start": "01:00", "end": "03:00"})
    errors = manager_client.put(URL, doc2, format="json").json()
    assert errors == {"reps": {"0": {"working_hours": ["working hours 1 and 2 overlap on Sun"]}}}


def test_bad_top_level_shapes(manager_client, db):
    assert manager_client.put(URL, [1, 2], format="json").json() == {
        "non_field_errors": ["the configuration must be a JSON object"]
    }
    response = manager_client.put(
        URL, {"version": 7, "rules": {"a": 1}, "reps": [3]}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "version": ["unsupported document version; use 1"],
        "rules": ["rules must be a list"],
        "reps": {"0": {"non_field_errors": ["expected an object, got int"]}},
    }


def test_apply_upserts_keeps_rule_ids_and_records_version(manager_client, manager_user, configured):
    enterprise = configured["enterprise"]
    RotationState.objects.create(rule=enterprise, data={"US-WEST": {"last": 1}})
    doc = routing_config_export()
    doc["rules"].reverse()
    doc["rules"][1]["sla_minutes"] = 45
    doc["rules"].append(
        {
            "name": "Webinars",
            "conditions": [{"field": "lead_source", "op": "eq", "value": "webinar"}],
            "target": {"reps": [{"username": "bob", "weight": 2}]},
            "strategy": "weighted_round_robin",
        }
    )
    doc["reps"][1]["name"] = "Robert Smith"
    doc["territories"].append({"code": "EMEA", "name": "EMEA", "countries": ["GB", "FR"]})
    doc["accounts"] = []

    response = manager_client.put(URL, doc, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["summary"] == (
        "territories: +1 ~0 -0; reps: +0 ~1 -0; accounts: +0 ~0 -1; rules: +1 ~2 -0"
    )
    enterprise.refresh_from_db()
    assert (enterprise.position, enterprise.sla_minutes) == (1, 45)
    assert RotationState.objects.get(rule=enterprise).data == {"US-WEST": {"last": 1}}
    version = RoutingConfigVersion.objects.get()
    assert (version.number, version.author, version.source) == (1, manager_user, "api")
    assert version.document == manager_client.get(URL).json()
    assert enterprise.history.first().history_user == manager_user
    second = routing_config_apply(document=doc, actor=manager_user, source="import", note="again")
    assert (second.number, second.summary, second.note) == (2, "no changes", "again")


def test_rep_with_leads_is_deactivated_not_deleted(manager_client, configured):
    _alice, bob, carol = configured["reps"]
    lead = LeadFactory(owner=bob, status="assigned")
    Assignment.objects.create(lead=lead, rep=bob, kind="auto", reason="test")
    doc = routing_config_export()
    doc["reps"] = [r for r in doc["reps"] if r["username"] not in ("bob", "carol")]
    response = manager_client.put(URL, doc, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["summary"] == "reps: +0 ~1 -1 (kept inactive, they have leads: bob)"
    bob.refresh_from_db()
    assert bob.active is False
    assert not Rep.objects.filter(pk=carol.pk).exists()
    assert get_user_model().objects.filter(username="carol").exists()


def test_rule_with_unknown_strategy_and_bad_types(manager_client, configured):
    doc = routing_config_export()
    doc["rules"][0]["strategy"] = "random"
    doc["rules"][0]["sla_minutes"] = "soon"
    doc["rules"][1]["conditions"] = {"field": "country"}
    response = manager_client.put(URL, doc, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "rules": {
            "0": {
                "strategy": ['"random" is not a valid choice.'],
                "sla_minutes": ["A valid integer is required."],
            },
            "1": {"conditions": ["conditions must be a list"]},
        }
    }


def test_config_endpoints_permissions(client, configured):
    from rest_framework.test import APIClient

    assert APIClient().get(URL).status_code == 401
    rep_client = APIClient()
    rep_client.force_authenticate(configured["reps"][0].user)
    assert rep_client.get(URL).status_code == 403
    assert rep_client.put(URL, {}, format="json").status_code == 403
    assert rep_client.get("/api/routing/versions/").status_code == 403


def test_versions_list_and_detail(manager_client, configured):
    for _ in range(3):
        manager_client.put(URL, routing_config_export(), format="json")
    listing = manager_client.get("/api/routing/versions/")
    assert listing.status_code == 200
    body = listing.json()
    assert body["count"] == 3
    assert [v["number"] for v in body["results"]] == [3, 2, 1]
    assert "document" not in body["results"][0]
    detail = manager_client.get("/api/routing/versions/2/").json()
    assert detail["number"] == 2
    assert detail["author"] == "manager"
    assert detail["document"] == routing_config_export()
    assert manager_client.get("/api/routing/versions/99/").status_code == 404
    assert manager_client.get("/api/routing/versions/?source=import").json()["count"] == 0


def test_applied_rules_route_like_before(manager_client, configured):
    """The configuration the engine compiles after a round trip is the same one."""
    from apps.routing.selectors import config_current

    before = config_current().snapshot
    manager_client.put(URL, routing_config_export(), format="json")
    after = config_current().snapshot
    assert before.rules == after.rules
    assert before.territories == after.territories


def test_an_sla_beyond_a_year_is_refused_with_its_path(manager_client):
    document = manager_client.get(URL).json()
    document["rules"] = [
        {
            "name": "Slow",
            "conditions": [],
            "target": None,
            "strategy": "account_owner",
            "sla_minutes": 2**40,
        }
    ]
    response = manager_client.put(URL, document, format="json")
    assert response.status_code == 400
    assert "sla_minutes" in response.json()["rules"]["0"]

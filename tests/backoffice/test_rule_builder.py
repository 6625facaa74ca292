"""The rule form's condition builder and target picker (#14): what the widgets render, what the
options endpoint offers (the engine's own grammar), where validation errors land, who gets in."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from apps.engine import KIND_OPS, LEAD_FIELDS
from apps.rules.models import RoutingRule
from tests.backoffice.conftest import client_for
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

OPTIONS_URL = "/admin/rules/routingrule/builder-options/"
ADD_URL = "/admin/rules/routingrule/add/"


def _rule_data(name: str, **overrides):
    data = {
        "name": name,
        "description": "",
        "active": "on",
        "conditions": "[]",
        "strategy": "round_robin",
        "target": '{"territory": "US-WEST"}',
        "when_no_one_eligible": "next_rule",
    }
    data.update(overrides)
    return data


def _change_url(rule: RoutingRule) -> str:
    return reverse("admin:rules_routingrule_change", args=[rule.pk])


# --- the options the builder offers --------------------------------------------------------------


def test_options_are_the_engines_grammar_and_the_organisations_data(
    manager, west_org, django_assert_max_num_queries
):
    LeadFactory(lead_source="webinar")
    LeadFactory(lead_source="Partner referral")
    LeadFactory(lead_source="webinar")
    LeadFactory(lead_source="")

    # session, user, the manager check, two for the permissions, the viewer's rep (the admin
    # shows times in the viewer's zone), then territories, reps and sources: one query each,
    # however many there are
    with django_assert_max_num_queries(9):
        response = manager.get(OPTIONS_URL)

    assert response.status_code == 200
    options = response.json()
    fields = {f["name"]: f for f in options["fields"]}
    assert set(fields) == set(LEAD_FIELDS)
    assert fields["company_size"] == {"name": "company_size", "kind": "number", "picker": "number"}
    assert fields["country"]["picker"] == "country" and fields["region"]["picker"] == "region"
    assert fields["territory"] == {"name": "territory", "kind": "territory", "picker": "territory"}
    assert fields["lead_source"]["picker"] == "source"
    assert fields["created_at"]["kind"] == "datetime"
    assert options["grammar"]["kind_ops"] == {k: list(v) for k, v in KIND_OPS.items()}
    assert "within" in options["grammar"]["kind_ops"]["territory"]
    assert "gte" not in options["grammar"]["kind_ops"]["text"]
    assert options["grammar"]["op_values"]["in"] == "list"
    assert options["grammar"]["weighted_strategies"] == ["weighted_round_robin"]
    assert options["grammar"]["targetless_strategies"] == ["account_owner"]
    assert options["op_labels"]["gte"] == "≥"
    assert ["US", "United States"] in options["countries"]
    assert len(options["countries"]) == 249
    assert ["de", "German"] in options["languages"]
    assert options["territories"] == [["AMER", "Americas", None], ["US-WEST", "US West", "AMER"]]
    assert [r[0] for r in options["reps"]] == ["alice", "bob", "carol"]
    assert options["reps"][0][2:] == [1, True]  # weight, active
    assert options["sources"] == ["Partner referral", "webinar"]


def test_regions_come_per_country_and_a_bad_country_is_named(manager):
    regions = manager.get(OPTIONS_URL, {"country": "us"}).json()
    assert regions["country"] == "US"
    assert ["US-CA", "California"] in regions["regions"]
    assert len(regions["regions"]) == 57  # ISO 3166-2:US: 50 states, DC and 6 outlying areas
    bad = manager.get(OPTIONS_URL, {"country": "Narnia"})
    assert bad.status_code == 400
    assert bad.json() == {"country": ["Unknown country 'Narnia'."]}
    assert manager.post(OPTIONS_URL).status_code == 405


@pytest.mark.parametrize("role", ["rep", "integration", "anonymous"])
def test_only_managers_reach_the_builder_and_its_options(role, west_org):
    client = client_for(role, west_org, "change_routingrule")
    enterprise = west_org["enterprise"]
    for url in (OPTIONS_URL, f"{OPTIONS_URL}?country=US", ADD_URL, _change_url(enterprise)):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login"))
    saved = client.post(_change_url(enterprise), _rule_data("Taken over"))
    assert saved.status_code == 302 and saved["Location"].startswith(reverse("admin:login"))
    assert not RoutingRule.objects.filter(name="Taken over").exists()


def test_a_manager_who_may_not_edit_rules_gets_no_options(manager, west_org):
    managers = Group.objects.get(name="RevOps managers")
    managers.permissions.remove(
        *Permission.objects.filter(codename__in=["add_routingrule", "change_routingrule"])
    )
    assert manager.get(OPTIONS_URL).status_code == 403
    assert manager.get(f"{OPTIONS_URL}?country=US").status_code == 403


# --- the widgets ---------------------------------------------------------------------------------


def test_the_change_form_renders_the_builders_over_the_current_json(manager, west_org):
    page = manager.get(_change_url(west_org["enterprise"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-builder="conditions"' in html and 'data-builder="target"' in html
    assert f'data-options-url="{OPTIONS_URL}"' in html
    # the collected, hashed files (DEBUG off), the shared box before the editors it starts
    scripts = [
        html.index(f"/static/backoffice/{n}.")
        for n in ("rule_builder", "rule_conditions", "rule_target")
    ]
    assert scripts == sorted(scripts)
    assert "/static/backoffice/rule_builder.css" not in html  # hashed: rule_builder.<hash>.css
    assert "/static/backoffice/rule_builder." in html and ".css" in html
    form = page.context["adminform"].form
    conditions = json.loads(form["conditions"].value())
    assert conditions == west_org["enterprise"].conditions
    # without JavaScript the builder's box stays hidden and the JSON textarea is the editor
    assert '<div class="rp-builder-ui" hidden></div>' in html
    assert 'name="conditions"' in html and 'name="target"' in html
    # the textarea (the value the form submits) holds the current JSON, pretty-printed
    assert "&quot;field&quot;: &quot;company_size&quot;" in html
    assert "&quot;territory&quot;: &quot;US-WEST&quot;" in html


def test_saving_the_builders_json_adds_the_rule_before_the_catch_all(manager, west_org):
    conditions = [
        {"field": "country", "op": "in", "value": ["US", "CA"]},
        {"field": "company_size", "op": "gte", "value": 1000},
        {"any": [{"field": "lead_source", "op": "eq", "value": "webinar"}]},
    ]
    target = {"reps": [{"username": "alice", "weight": 3}, {"username": "bob", "weight": 1}]}
    everyone = west_org["everyone"]

    saved = manager.post(
        ADD_URL,
        _rule_data(
            "Big North America",
            conditions=json.dumps(conditions, indent=2),
            target=json.dumps(target, indent=2),
            strategy="weighted_round_robin",
            placement=f"before:{everyone.pk}",
        ),
    )

    assert saved.status_code == 302, saved.context["adminform"].form.errors
    rule = RoutingRule.objects.get(name="Big North America")
    assert rule.conditions == conditions
    assert rule.target == target
    names = list(RoutingRule.objects.order_by("position").values_list("name", flat=True))
    assert names == ["Enterprise West", "Big North America", "Everyone else"]


def test_a_bad_condition_is_named_on_the_builder_with_its_path(manager, west_org):
    enterprise = west_org["enterprise"]
    conditions = [
        {"field": "country", "op": "in", "value": ["US"]},
        {"field": "company_size", "op": "gte", "value": "many"},
        {
            "any": [
                {"field": "region", "op": "eq", "value": "US-CA"},
                {"field": "title", "op": "gt", "value": 3},
            ]
        },
    ]

    page = manager.post(
        _change_url(enterprise), _rule_data(enterprise.name, conditions=json.dumps(conditions))
    )

    assert page.status_code == 200
    form = page.context["adminform"].form
    assert form.errors["conditions"] == [
        "Condition 2 (company_size ≥ \"many\"), value: 'gte' needs a number, got 'many'",
        "Condition 3, any of 2 (title > 3), operator: 'gt' needs a numeric field; 'title' is text",
    ]
    # nothing atop the form: the builder's own errors are all there is
    assert not form.non_field_errors()
    html = page.content.decode()
    paths = json.loads(form.fields["conditions"].widget.attrs["data-error-paths"])
    assert paths == {
        "1.value": ["'gte' needs a number, got 'many'"],
        "2.any.1.op": ["'gt' needs a numeric field; 'title' is text"],
    }
    assert "data-error-paths=" in html
    enterprise.refresh_from_db()
    assert enterprise.conditions[0] == {"field": "company_size", "op": "gte", "value": 1000}


def test_a_bad_target_names_the_rep_and_other_problems_stay_atop_the_form(manager, west_org):
    enterprise = west_org["enterprise"]
    target = {"reps": [{"username": "alice"}, {"username": "zed"}]}

    page = manager.post(
        _change_url(enterprise),
        _rule_data(
            enterprise.name,
            target=json.dumps(target),
            conditions='[{"field": "territory", "op": "within", "value": "NOWHERE"}]',
            require_skill_from="colour",
        ),
    )

    assert page.status_code == 200
    form = page.context["adminform"].form
    assert form.errors["target"] == ["Rep 2 (zed): unknown rep 'zed'"]
    assert form.errors["conditions"] == [
        "Condition 1 (territory within NOWHERE), value: unknown territory 'NOWHERE'"
    ]
    assert form.non_field_errors() == [
        "This change would stop routing:",
        "Rule 'Enterprise West' require_skill_from: unknown field 'colour'",
    ]
    assert json.loads(form.fields["target"].widget.attrs["data-error-paths"]) == {
        "reps.1.username": ["unknown rep 'zed'"]
    }
    enterprise.refresh_from_db()
    assert enterprise.target == {"territory": "US-WEST"}


def test_an_account_owner_rule_saves_with_no_target(manager, west_org):
    saved = manager.post(
        ADD_URL,
        _rule_data("Owners", strategy="account_owner", target="", placement="top"),
    )
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    assert RoutingRule.objects.get(name="Owners").target is None
    missing = manager.post(ADD_URL, _rule_data("No target", target="", placement="top"))
    assert missing.context["adminform"].form.errors["target"] == [
        "a target is required for round_robin"
    ]

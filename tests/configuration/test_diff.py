"""config_diff: one readable change per kind of edit between two configuration documents.
Pure: plain documents in, no database."""

from __future__ import annotations

import copy
from typing import Any

from apps.configuration.diff import config_diff


def _rule(key: str, name: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "name": name or key.title(),
        "description": "",
        "active": True,
        "conditions": [{"field": "country", "op": "eq", "value": "US"}],
        "target": {"territory": "US"},
        "strategy": "round_robin",
        "sla_minutes": None,
        "respect_working_hours": False,
        "require_skill_from": None,
        "require_language": False,
        "when_no_one_eligible": "next_rule",
        "sla_business_hours": None,
        **extra,
    }


def _rep(username: str, territories: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "username": username,
        "name": username.title(),
        "email": f"{username}@example.com",
        "time_zone": "UTC",
        "active": True,
        "territories": territories,
        "weight": 1,
        "max_open_leads": None,
        "max_daily_leads": None,
        "skills": [],
        "languages": [],
        "working_hours": [],
        "time_off": [],
        **extra,
    }


BASE: dict[str, Any] = {
    "version": 1,
    "territories": [
        {"code": "US", "name": "US", "parent": None, "countries": ["US"], "regions": [],
         "postal_prefixes": []},
        {"code": "EU", "name": "Europe", "parent": None, "countries": ["DE", "FR"],
         "regions": [], "postal_prefixes": []},
    ],
    "reps": [_rep("ann", ["US"]), _rep("bob", ["EU"])],
    "accounts": [{"domain": "acme.com", "name": "Acme", "owner": "ann"}],
    "rules": [_rule("alpha"), _rule("beta"), _rule("gamma")],
}  # fmt: skip


def _changed(**edits: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc.update(edits)
    return doc


def _summaries(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c.kind, c.summary) for c in config_diff(old, new)]


def test_identical_documents_have_no_changes() -> None:
    assert config_diff(BASE, copy.deepcopy(BASE)) == []


def test_rule_added_names_its_position_conditions_and_target() -> None:
    new = _changed(
        rules=[_rule("alpha"), _rule("new", "Enterprise"), _rule("beta"), _rule("gamma")]
    )
    assert _summaries(BASE, new) == [
        (
            "rule_added",
            "Rule 'Enterprise' added at position 2: country = US → territory US (round_robin)",
        )
    ]


def test_rule_removed_says_where_it_was() -> None:
    new = _changed(rules=[_rule("alpha"), _rule("gamma")])
    assert _summaries(BASE, new) == [
        ("rule_removed", "Rule 'Beta' removed (was at position 2: country = US → territory US)")
    ]


def test_rule_renamed_keeps_its_identity_by_key() -> None:
    new = _changed(rules=[_rule("alpha"), _rule("beta", "Beta West"), _rule("gamma")])
    changes = config_diff(BASE, new)
    assert [(c.kind, c.key, c.subject, c.summary) for c in changes] == [
        ("rule_renamed", "beta", "Beta West", "Rule 'Beta' renamed to 'Beta West'")
    ]


def test_only_the_rule_that_changed_places_is_moved() -> None:
    # gamma to the top: alpha and beta keep their relative order, so only gamma moved.
    new = _changed(rules=[_rule("gamma"), _rule("alpha"), _rule("beta")])
    assert _summaries(BASE, new) == [("rule_moved", "Rule 'Gamma' moved from position 3 to 1")]


def test_adding_a_rule_above_others_does_not_move_them() -> None:
    new = _changed(rules=[_rule("zero"), _rule("alpha"), _rule("beta"), _rule("gamma")])
    assert [kind for kind, _ in _summaries(BASE, new)] == ["rule_added"]


def test_rule_conditions_changed_shows_before_and_after() -> None:
    wider = [{"field": "country", "op": "in", "value": ["US", "CA"]}]
    new = _changed(rules=[_rule("alpha", conditions=wider), _rule("beta"), _rule("gamma")])
    assert _summaries(BASE, new) == [
        ("rule_conditions", "Rule 'Alpha' conditions: country = US → country in (US, CA)")
    ]


def test_rule_target_and_strategy_changed() -> None:
    new = _changed(
        rules=[
            _rule(
                "alpha",
                target={"reps": [{"username": "ann", "weight": 2}, {"username": "bob"}]},
                strategy="weighted_round_robin",
            ),
            _rule("beta"),
            _rule("gamma"),
        ]
    )
    assert _summaries(BASE, new) == [
        ("rule_target", "Rule 'Alpha' target: territory US → reps ann ×2, bob"),
        ("rule_strategy", "Rule 'Alpha' strategy: round_robin → weighted_round_robin"),
    ]


def test_rule_deactivated_and_settings_changed() -> None:
    new = _changed(
        rules=[
            _rule("alpha", active=False, sla_minutes=30, when_no_one_eligible="hold"),
            _rule("beta"),
            _rule("gamma"),
        ]
    )
    assert _summaries(BASE, new) == [
        ("rule_deactivated", "Rule 'Alpha' deactivated"),
        ("rule_settings", "Rule 'Alpha': SLA minutes none → 30; when no one is eligible "
         "next_rule → hold"),
    ]  # fmt: skip


def test_rep_moved_between_territories() -> None:
    new = _changed(reps=[_rep("ann", ["EU"]), _rep("bob", ["EU"])])
    assert _summaries(BASE, new) == [("rep_territories", "ann moved from US to EU")]


def test_rep_joining_and_leaving_a_territory() -> None:
    new = _changed(reps=[_rep("ann", ["EU", "US"]), _rep("bob", [])])
    assert _summaries(BASE, new) == [
        ("rep_territories", "ann joined EU"),
        ("rep_territories", "bob left EU"),
    ]


def test_rep_capacity_changed() -> None:
    new = _changed(
        reps=[_rep("ann", ["US"], max_open_leads=25, max_daily_leads=5), _rep("bob", ["EU"])]
    )
    assert _summaries(BASE, new) == [
        ("rep_capacity", "Rep ann: max open leads none → 25; max leads a day none → 5")
    ]


def test_rep_added_removed_deactivated_and_reweighted() -> None:
    new = _changed(reps=[_rep("ann", ["US"], active=False, weight=3), _rep("cid", ["EU"])])
    assert _summaries(BASE, new) == [
        ("rep_active", "Rep ann deactivated"),
        ("rep_settings", "Rep ann: weight 1 → 3"),
        ("rep_added", "Rep cid added (territories: EU)"),
        ("rep_removed", "Rep bob removed"),
    ]


def test_territories_added_removed_and_changed() -> None:
    new = _changed(
        territories=[
            {"code": "US", "name": "US", "parent": None, "countries": ["US", "CA"],
             "regions": [], "postal_prefixes": []},
            {"code": "APAC", "name": "APAC", "parent": None, "countries": ["JP"],
             "regions": [], "postal_prefixes": []},
        ]
    )  # fmt: skip
    assert _summaries(BASE, new) == [
        ("territory_changed", "Territory US: countries US → US, CA"),
        ("territory_added", "Territory APAC added"),
        ("territory_removed", "Territory EU removed"),
    ]


def test_accounts_owner_changed_added_and_removed() -> None:
    old = _changed(
        accounts=[*BASE["accounts"], {"domain": "gone.io", "name": "Gone", "owner": None}]
    )
    new = _changed(
        accounts=[
            {"domain": "acme.com", "name": "Acme", "owner": "bob"},
            {"domain": "new.io", "name": "New", "owner": None},
        ]
    )
    assert _summaries(old, new) == [
        ("account_owner", "Account acme.com owner: ann → bob"),
        ("account_added", "Account new.io added (owner none)"),
        ("account_removed", "Account gone.io removed"),
    ]


def test_first_version_lists_everything_added() -> None:
    kinds = [c.kind for c in config_diff(None, BASE)]
    assert kinds == ["rule_added"] * 3 + ["territory_added"] * 2 + ["rep_added"] * 2 + [
        "account_added"
    ]


def test_rules_without_keys_are_matched_by_name() -> None:
    old = _changed(rules=[{k: v for k, v in _rule("alpha").items() if k != "key"}])
    new = _changed(rules=[{k: v for k, v in _rule("alpha", sla_minutes=15).items() if k != "key"}])
    assert _summaries(old, new) == [("rule_settings", "Rule 'Alpha': SLA minutes none → 15")]

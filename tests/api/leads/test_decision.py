"""`decision` on `GET /api/leads/{id}/` (#14): the current assignment's reason, its trace in
words and the configuration version that decided it; the reason's counts agree with the trace."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.configuration.versions import config_version_record
from apps.reps.models import Rep
from apps.routing.services import lead_reassign, lead_route
from apps.rules.models import RoutingRule
from tests.factories import LeadFactory, TimeOffFactory

pytestmark = pytest.mark.django_db

BIG_CA = {"company_size": 5000, "country": "US", "region": "US-CA"}
SMALL_WA = {"company_size": 5, "country": "US", "region": "US-WA"}


def _client(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def version(west_org, boss):  # type: ignore[no-untyped-def]
    return config_version_record(actor=boss, source="admin", summary="West rules")


def _route(now, **fields):  # type: ignore[no-untyped-def]
    lead = LeadFactory(**fields)
    lead_route(lead_id=lead.pk, now=now)
    lead.refresh_from_db()
    return lead


@pytest.fixture
def bob_off_carol_away(west_org):  # type: ignore[no-untyped-def]
    now = timezone.now()
    bob, carol = (Rep.objects.get(user__username=name) for name in ("bob", "carol"))
    TimeOffFactory(
        rep=bob,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=3),
        reason="sick",
        note="knee surgery",
    )
    carol.away = True
    carol.save()
    return now


def _decided(body):  # type: ignore[no-untyped-def]
    (step,) = [s for s in body["decision"]["trace"]["steps"] if s["result"] == "decided"]
    return step


def test_manager_reads_reason_trace_in_words_and_version(boss, version, west_org):
    now = timezone.now()
    # the rotation walks past alice (time off) to bob
    ends = now + timedelta(days=1)
    TimeOffFactory(rep=west_org["reps"][0], starts_at=now - timedelta(hours=1), ends_at=ends)
    lead = _route(now, **BIG_CA)

    response = _client(boss).get(f"/api/leads/{lead.pk}/")

    assert response.status_code == 200
    decision = response.json()["decision"]
    assert decision["rep"] == "bob" == response.json()["owner"]
    assert (decision["kind"], decision["rule"], decision["strategy"]) == (
        "auto",
        "Enterprise West",
        "round_robin",
    )
    assert decision["reason"] == (
        "Enterprise West: round robin among 3 reps (skipped 1 ineligible) of US-WEST"
    )
    assert decision["config_version"] == {
        "number": version.number,
        "applied_at": version.created_at.isoformat().replace("+00:00", "Z"),
        "url": f"http://testserver/api/routing/versions/{version.number}/",
    }
    assert _client(boss).get(decision["config_version"]["url"]).status_code == 200
    trace = decision["trace"]
    assert (trace["outcome"], trace["summary"], trace["territory"]) == (
        "assigned",
        "Assigned",
        "US-WEST",
    )
    assert trace["reason"] == decision["reason"]
    assert trace["steps"] == [
        {
            "position": 0,
            "rule": "Enterprise West",
            "rule_id": west_org["enterprise"].pk,
            "result": "decided",
            "why": "all 2 conditions hold",
            "pool": "US-WEST",
            "chosen": "bob",
            "candidates": [
                {
                    "rep": "alice",
                    "eligible": False,
                    "chosen": False,
                    "why": f"on time off (time off until {ends.isoformat()} (other))",
                },
                {
                    "rep": "bob",
                    "eligible": True,
                    "chosen": True,
                    "why": "eligible (next in rotation)",
                },
            ],
            "candidates_not_listed": 0,
        }
    ]


def test_a_missed_rule_says_its_failing_condition(boss, version, west_org):
    lead = _route(timezone.now(), **SMALL_WA)
    steps = _client(boss).get(f"/api/leads/{lead.pk}/").json()["decision"]["trace"]["steps"]
    assert [(s["rule"], s["result"]) for s in steps] == [
        ("Enterprise West", "missed"),
        ("Everyone else", "decided"),
    ]
    assert steps[0]["why"] == "company_size gte 1000 failed: lead has 5"
    assert steps[0]["candidates"] == []


def test_rep_reads_colleagues_as_generic_words_and_no_version_link(
    bob_off_carol_away, west_org, version
):
    now = bob_off_carol_away
    _route(now, **BIG_CA)  # alice; the next lead's rotation starts after her
    lead = _route(now, **BIG_CA)
    # the rotation walked past bob (time off) and carol (away) back to alice
    assert lead.owner.user.username == "alice"

    body = _client(west_org["reps"][0].user).get(f"/api/leads/{lead.pk}/").json()

    decision = body["decision"]
    assert decision["config_version"]["url"] is None
    assert decision["config_version"]["number"] == version.number
    why = {c["rep"]: c["why"] for c in _decided(body)["candidates"]}
    assert why == {
        "bob": "not eligible: time off",
        "carol": "not eligible: away",
        "alice": "eligible (next in rotation)",
    }
    assert "knee" not in str(body) and "until" not in str(body)


def test_load_balanced_reason_hides_the_load_from_a_rep(west_org, version, boss):
    lead = _route(timezone.now(), **SMALL_WA)
    owner = lead.owner.user
    as_rep = _client(owner).get(f"/api/leads/{lead.pk}/").json()["decision"]
    as_boss = _client(boss).get(f"/api/leads/{lead.pk}/").json()["decision"]
    assert as_boss["reason"] == "Everyone else: fewest open leads (0) among 3 reps of US-WEST"
    assert as_rep["reason"] == "Everyone else: fewest open leads among 3 reps of US-WEST"
    assert as_rep["trace"]["reason"] == as_rep["reason"]


# --- the reason's counts agree with the trace ------------------------------------------------------


def _agree(decision) -> None:  # type: ignore[no-untyped-def]
    """Every count the reason states is what its decided step lists."""
    step = next(s for s in decision["trace"]["steps"] if s["result"] == "decided")
    candidates = step["candidates"]
    ineligible = sum(1 for c in candidates if not c["eligible"])
    eligible = sum(1 for c in candidates if c["eligible"])
    chosen = [c["rep"] for c in candidates if c["chosen"]]
    assert chosen == [decision["rep"]] == [step["chosen"]]
    reason = decision["reason"]
    assert reason.startswith(f"{step['rule']}: ")
    assert reason.endswith(f" of {step['pool']}")
    skipped = re.search(r"\(skipped (\d+) ineligible\)", reason)
    assert (int(skipped.group(1)) if skipped else 0) == ineligible
    counted = re.search(r"among (\d+) (eligible )?reps?", reason)
    assert counted is not None
    if counted.group(2):  # weighted: every eligible rep is listed
        assert int(counted.group(1)) == eligible + step["candidates_not_listed"]
    elif "fewest open leads" in reason:  # load balanced: every rep considered is accounted for
        assert int(counted.group(1)) == len(candidates) + step["candidates_not_listed"]
    else:  # round robin: the reps walked from the cursor, at most the pool
        assert len(candidates) == ineligible + 1 <= int(counted.group(1))


@pytest.mark.parametrize(
    ("strategy", "fields", "expected"),
    [
        (
            "round_robin",
            BIG_CA,
            "Enterprise West: round robin among 3 reps of US-WEST",
        ),
        (
            "weighted_round_robin",
            BIG_CA,
            "Enterprise West: weighted round robin among 1 eligible rep (skipped 2 ineligible) of US-WEST",
        ),
        (
            "performance_weighted",
            BIG_CA,
            "Enterprise West: performance weighted among 1 eligible rep (skipped 2 ineligible) "
            "of US-WEST",
        ),
        (
            "load_balanced",
            BIG_CA,
            "Enterprise West: fewest open leads (1) among 3 reps (skipped 2 ineligible) of US-WEST",
        ),
        (
            "load_balanced",
            SMALL_WA,
            "Everyone else: fewest open leads (1) among 3 reps (skipped 2 ineligible) of US-WEST",
        ),
    ],
)
def test_the_reasons_counts_and_the_trace_agree(
    bob_off_carol_away, west_org, version, boss, strategy, fields, expected
):
    now = bob_off_carol_away
    RoutingRule.objects.filter(pk=west_org["enterprise"].pk).update(strategy=strategy)
    # alice already holds a lead, so the balancer's winner has a load of 1
    lead_reassign(
        lead_id=LeadFactory(**SMALL_WA).pk,
        rep=west_org["reps"][0],
        note="warm intro",
        actor=boss,
        now=now,
    )
    lead = _route(now, **fields)
    decision = _client(boss).get(f"/api/leads/{lead.pk}/").json()["decision"]
    assert decision["reason"] == expected
    _agree(decision)


def test_a_manual_reassignment_reads_by_whom_and_why(west_org, boss, version):
    lead = LeadFactory(**SMALL_WA)
    lead_reassign(lead_id=lead.pk, rep=west_org["reps"][1], note="knows the CTO", actor=boss)
    decision = _client(boss).get(f"/api/leads/{lead.pk}/").json()["decision"]
    assert (decision["kind"], decision["actor"], decision["rep"]) == ("manual", "boss", "bob")
    trace = decision["trace"]
    assert (trace["summary"], trace["by"], trace["note"], trace["steps"]) == (
        "Reassigned by hand",
        "boss",
        "knows the CTO",
        [],
    )


@pytest.mark.parametrize("role", ["manager", "rep_owner", "other_rep", "integration", "anon"])
def test_decision_follows_the_leads_visibility(role, west_org, webform, boss, version):
    lead = _route(timezone.now(), **SMALL_WA)
    owner = lead.owner.user
    other = next(r.user for r in west_org["reps"] if r.user != owner)
    client = {
        "manager": _client(boss),
        "rep_owner": _client(owner),
        "other_rep": _client(other),
        "integration": _client(webform),
        "anon": APIClient(),
    }[role]
    response = client.get(f"/api/leads/{lead.pk}/")
    expected = {"manager": 200, "rep_owner": 200, "other_rep": 404, "integration": 404}
    assert response.status_code == expected.get(role, 401)
    if response.status_code == 200:
        assert response.json()["decision"]["rep"] == owner.username


def test_a_lead_without_an_owner_has_no_decision(boss, west_org):
    lead = LeadFactory(**SMALL_WA)
    body = _client(boss).get(f"/api/leads/{lead.pk}/").json()
    assert body["decision"] is None and body["owner"] is None


def test_detail_costs_a_fixed_number_of_queries(boss, version, west_org, django_assert_num_queries):
    lead = _route(timezone.now(), **SMALL_WA)
    client = _client(boss)
    client.get(f"/api/leads/{lead.pk}/")  # warm the role cache
    # the lead (with owner, territory, rule), the current assignment (with rep, actor, version)
    with django_assert_num_queries(2):
        assert client.get(f"/api/leads/{lead.pk}/").status_code == 200

"""The backtest service and its command: a redistribution worked out by hand, nothing written."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from apps.configuration.items import ConfigValidationError
from apps.configuration.models import RoutingConfigVersion
from apps.engine.replay import gini
from apps.leads.models import Lead, LeadActivity, LeadStatus
from apps.notifications.models import LeadNotice, WebhookDelivery
from apps.reps.models import Rep, TimeOff
from apps.routing.backtest import routing_backtest
from apps.routing.backtest_report import backtest_report, trace_lines
from apps.routing.models import Assignment, OutboxMessage, RotationState
from tests.routing.backtest_scenario import (
    END,
    START,
    at,
    draft_document,
    lead_routed,
    reps_create,
    scenario,
)

pytestmark = pytest.mark.django_db


def run(document: dict[str, Any], start: datetime.date = START, end: datetime.date = END) -> Any:
    return backtest_report(routing_backtest(document=document, start=start, end=end))


def per_rep(report: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {row["rep"]: (row["before"], row["after"]) for row in report["per_rep"]}


def test_gini_by_hand() -> None:
    assert gini([3, 3]) == 0
    assert gini([6, 0]) == 0.5
    assert gini([4, 3, 0]) == round(16 / 42, 4)
    assert gini([]) is None
    assert gini([0, 0]) is None


def test_the_redistribution_worked_out_by_hand() -> None:
    data = scenario()
    report = run(draft_document())

    assert report["leads"] == 7
    assert per_rep(report) == {"ann": (4, 2), "bob": (3, 2), "cid": (0, 2)}
    assert [row["delta"] for row in report["per_rep"]] == [-2, -1, 2]
    assert report["changed"]["count"] == 4
    assert report["changed"]["share"] == round(4 / 7, 4)
    assert report["unrouted"]["before"] == {"count": 0, "by_reason": []}
    assert report["unrouted"]["after"]["count"] == 1
    assert [(r["reason"], r["count"]) for r in report["unrouted"]["after"]["by_reason"]] == [
        ("no_rule_matched", 1)
    ]
    assert report["balance"] == {"gini_before": 0.381, "gini_after": 0.0, "reps": 3}
    assert report["capacity_breaches"] == []
    # The live rule replayed the same way reproduces every owner: all 4 changes are the draft's.
    assert report["baseline"]["changed"] == 0

    leads = data["leads"]
    sample = report["changed"]["sample"]
    assert [s["lead_id"] for s in sample] == [leads[i].pk for i in (1, 2, 3, 6)]
    assert [(s["before"]["rep"], s["after"]["rep"]) for s in sample] == [
        ("bob", "cid"),
        ("ann", "bob"),
        ("bob", "cid"),
        ("ann", None),
    ]
    first = sample[0]
    assert first["before"]["reason"].startswith("Round robin")
    assert first["before"]["trace"]["rules"][0]["rule"] == "Round robin"
    assert first["after"]["reason"] == "Germany: round robin among 1 rep listed in the rule"
    assert [e["rule"] for e in first["after"]["trace"]["rules"]] == ["Germany"]
    assert sample[3]["after"]["reason"].startswith("No rule matched this lead")
    # Both traces read as lines a person follows.
    assert trace_lines(first["after"]["trace"])[0] == "+ Germany: all 1 condition hold -> cid"
    assert trace_lines(first["before"]["trace"])[0] == "+ Round robin: no conditions"


def test_only_the_window_is_replayed() -> None:
    scenario()
    # Leads 3 and 4 (days 4 and 5) only: the draft's rotation starts at ann again.
    report = run(draft_document(), datetime.date(2026, 3, 4), datetime.date(2026, 3, 5))
    assert report["leads"] == 2
    assert per_rep(report) == {"ann": (1, 1), "bob": (1, 0), "cid": (0, 1)}
    assert report["changed"]["count"] == 1


def _counts() -> dict[str, int]:
    models = [Lead, LeadActivity, Assignment, OutboxMessage, RotationState, Rep, TimeOff]
    counts = {m.__name__: m.objects.count() for m in models}
    counts["RepHistory"] = Rep.history.count()
    counts["Version"] = RoutingConfigVersion.objects.count()
    counts["Deliveries"] = WebhookDelivery.objects.count() + LeadNotice.objects.count()
    return counts


def test_a_backtest_writes_nothing(django_capture_on_commit_callbacks: Any) -> None:
    data = scenario()
    before = _counts()
    counters = list(Rep.objects.values_list("open_leads_count", "assigned_today", "updated_at"))
    leads = list(Lead.objects.order_by("pk").values_list("status", "owner_id", "updated_at"))
    with (
        mock.patch("apps.core.broker.task_enqueue") as enqueue,
        django_capture_on_commit_callbacks() as callbacks,
    ):
        run(draft_document())
    assert _counts() == before
    assert list(Rep.objects.values_list("open_leads_count", "assigned_today", "updated_at")) == (
        counters
    )
    assert list(Lead.objects.order_by("pk").values_list("status", "owner_id", "updated_at")) == (
        leads
    )
    assert callbacks == []
    enqueue.assert_not_called()
    assert data["leads"][0].assignments.count() == 1


def test_the_report_names_what_was_approximated() -> None:
    scenario()
    notes = run(draft_document())["approximations"]
    assert any(n.startswith("Rotation cursors start fresh") for n in notes)
    assert any(n.startswith("Working hours are the draft's") for n in notes)
    assert not any("history begins after" in n for n in notes)  # backdated in the scenario
    Rep.history.update(history_date=datetime.datetime(2026, 3, 15, tzinfo=datetime.UTC))
    notes = run(draft_document())["approximations"]
    assert (
        "3 rep(s)' change history begins after the window opens: their first recorded "
        "away/active state is used before it." in notes
    )


def test_a_draft_that_deactivates_a_rep_holds_for_the_whole_window() -> None:
    scenario()
    report = run(draft_document(bob={"active": False}))
    # bob is off: ann takes every US/FR lead.
    assert per_rep(report) == {"ann": (4, 4), "bob": (3, 0), "cid": (0, 2)}
    assert any("the draft activates or deactivates" in n for n in report["approximations"])


def test_capacity_breaches_under_the_draft() -> None:
    reps = reps_create(ann={"max_daily_leads": 1})
    for hour in (9, 10, 11):
        lead_routed(reps["bob"], created_at=at(2, hour), country="US")
    document = draft_document(ann={"max_daily_leads": 1})
    document["rules"] = [
        {
            "name": "Ann only",
            "target": {"reps": [{"username": "ann"}]},
            "strategy": "round_robin",
            "when_no_one_eligible": "assign_anyway",
        }
    ]
    report = run(document)
    assert per_rep(report)["ann"] == (0, 3)
    assert report["assigned_anyway"] == 2
    assert report["capacity_breaches"] == [
        {
            "rep": "ann",
            "limit": "max_daily_leads",
            "cap": 1,
            "assignments": 2,
            "peak": 3,
            "first_at": "2026-03-02T10:00:00Z",
        }
    ]


def test_loads_at_the_window_start_and_leads_closing_during_it() -> None:
    reps = reps_create()
    # ann holds a lead from February that closes on March 2 at noon.
    old = lead_routed(
        reps["ann"], created_at=datetime.datetime(2026, 2, 20, tzinfo=datetime.UTC), country="US"
    )
    Lead.objects.filter(pk=old.pk).update(status=LeadStatus.CONVERTED, closed_at=at(2, 12))
    for hour in (10, 14):
        lead_routed(reps["bob"], created_at=at(2, hour), country="US")
    document = draft_document()
    document["rules"] = [
        {
            "name": "Least loaded",
            "target": {"reps": [{"username": "ann"}, {"username": "bob"}]},
            "strategy": "load_balanced",
        }
    ]
    report = run(document)
    sample = report["changed"]["sample"]
    # 10:00: ann holds 1 open lead, bob none -> bob. 14:00: ann's lead closed, bob holds 1 -> ann.
    assert per_rep(report) == {"ann": (0, 1), "bob": (2, 1), "cid": (0, 0)}
    assert [(s["before"]["rep"], s["after"]["rep"]) for s in sample] == [("bob", "ann")]
    assert "fewest open leads (0)" in sample[0]["after"]["reason"]


def test_availability_as_it_was_at_each_lead() -> None:
    data = scenario()
    ann = data["reps"]["ann"]
    # ann was away on March 6 (lead 5) and back by the evening; off all of March 7 (lead 6).
    ann.away = True
    ann._history_date = at(6, 9)
    ann.save()
    ann.away = False
    ann._history_date = at(6, 18)
    ann.save()
    TimeOff.objects.create(rep=ann, starts_at=at(7, 0), ends_at=at(8, 0), reason="vacation")
    report = run(draft_document())
    # US/FR leads 1, 3, 5, 6 -> ann, bob (next in turn), bob (ann away), bob (ann off)
    assert per_rep(report) == {"ann": (4, 1), "bob": (3, 3), "cid": (0, 2)}
    sample = report["changed"]["sample"]
    assert [(s["before"]["rep"], s["after"]["rep"]) for s in sample] == [
        ("bob", "cid"),
        ("ann", "bob"),
        ("bob", "cid"),
        ("ann", "bob"),
        ("ann", None),
    ]
    candidates = sample[3]["after"]["trace"]["rules"][-1]["candidates"]
    assert [(c["rep"], c["code"]) for c in candidates] == [("ann", "away"), ("bob", "eligible")]


def test_an_invalid_draft_is_refused_with_field_paths() -> None:
    document = draft_document()
    document["rules"][0]["strategy"] = "coin_toss"
    document["rules"][1]["target"] = {"reps": [{"username": "zed"}]}
    with pytest.raises(ConfigValidationError) as exc:
        routing_backtest(document=document, start=START, end=END)
    detail = exc.value.detail
    assert "strategy" in detail["rules"]["0"]
    assert "unknown rep 'zed'" in json.dumps(detail["rules"]["1"])


# --- the command -------------------------------------------------------------------------------


@pytest.fixture
def draft_file(tmp_path: Path) -> Path:
    path = tmp_path / "draft.json"
    path.write_text(json.dumps(draft_document()), encoding="utf-8")
    return path


def command(*args: str) -> tuple[str, str]:
    import io

    out, err = io.StringIO(), io.StringIO()
    call_command("backtest_routing", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_prints_a_readable_report(draft_file: Path) -> None:
    scenario()
    out, _ = command(str(draft_file), "--start", "2026-03-01", "--end", "2026-03-31")
    lines = out.splitlines()
    assert lines[0].startswith("Backtest 2026-03-01 to 2026-03-31 (UTC): 7 leads replayed")
    assert "ann                            4       2      -2" in lines
    assert "cid                            0       2      +2" in lines
    assert "(unrouted)                     0       1" in lines
    assert "Balance (Gini over 3 reps): before 0.381, after 0.000" in lines
    assert "Owner would change: 4 leads (57.1%)" in lines
    assert (
        "  (replaying the live configuration the same way changes 0: the replay's "
        "approximations alone)" in lines
    )
    assert "       1  no rule matched" in lines
    assert "Capacity breaches under the draft: none" in lines
    assert any(line.startswith("Lead #") and ": bob -> cid" in line for line in lines)
    assert "    + Germany: all 1 condition hold -> cid" in lines
    assert "Approximations:" in lines


def test_the_command_prints_json(draft_file: Path) -> None:
    scenario()
    out, _ = command(str(draft_file), "--start", "2026-03-01", "--end", "2026-03-31", "--json")
    report = json.loads(out)
    assert report["changed"]["count"] == 4
    assert report["balance"]["gini_before"] == 0.381


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.json", "--start", "2026-03-01", "--end", "2026-03-31"], "cannot read"),
        (["BAD", "--start", "2026-03-01", "--end", "2026-03-31"], "is not valid JSON"),
        (["DRAFT", "--start", "2026-02-30", "--end", "2026-03-31"], "--start: '2026-02-30'"),
        (["DRAFT", "--start", "2026-03-01", "--end", "March"], "--end: 'March' is not a date"),
        (["DRAFT", "--start", "2026-03-31", "--end", "2026-03-01"], "is before --start"),
    ],
)
def test_the_command_refuses_bad_input(
    args: list[str], message: str, draft_file: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    names = {
        "missing.json": str(tmp_path / "missing.json"),
        "BAD": str(bad),
        "DRAFT": str(draft_file),
    }
    with pytest.raises(CommandError, match=message):
        command(*[names.get(a, a) for a in args])


def test_the_command_lists_every_config_error_by_path(tmp_path: Path) -> None:
    document = draft_document()
    document["rules"][0]["strategy"] = "coin_toss"
    document["reps"][0]["time_zone"] = "Mars/Base"
    path = tmp_path / "draft.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    import io

    err = io.StringIO()
    with pytest.raises(CommandError, match=r"2 error\(s\) in .*draft.json; nothing was run"):
        call_command(
            "backtest_routing",
            str(path),
            "--start",
            "2026-03-01",
            "--end",
            "2026-03-31",
            stderr=err,
        )
    lines = err.getvalue().splitlines()
    assert any(line.startswith("rules.0.strategy: ") for line in lines)
    assert any(line.startswith("reps.0.time_zone: ") for line in lines)


def test_progress_is_reported_as_leads_are_replayed() -> None:
    scenario()
    calls: list[tuple[int, int]] = []
    routing_backtest(
        document=draft_document(), start=START, end=END, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(7, 7)]


def test_the_daily_count_starts_from_the_first_local_day() -> None:
    """ann works in New York: the window's first UTC hours are still February 28 there."""
    reps = reps_create(ann={"max_daily_leads": 1, "time_zone": "America/New_York"})
    ann, bob = reps["ann"], reps["bob"]
    # 15:00 in New York on Feb 28, before the window: ann's one lead of that day.
    lead_routed(
        ann, created_at=datetime.datetime(2026, 2, 28, 20, tzinfo=datetime.UTC), country="US"
    )
    lead_routed(bob, created_at=at(1, 0, 30), country="US")  # 19:30 Feb 28 in New York
    lead_routed(bob, created_at=at(1, 6), country="US")  # 01:00 Mar 1 in New York
    document = draft_document(ann={"max_daily_leads": 1, "time_zone": "America/New_York"})
    document["rules"] = [
        {
            "name": "Ann first",
            "target": {"reps": [{"username": "ann"}, {"username": "bob"}]},
            "strategy": "round_robin",
        }
    ]
    # A fresh rotation starts with ann. Lead 1 at 00:30 UTC: ann is at her daily cap (1/1, the
    # February 28 lead) -> bob. Lead 2 at 06:00 UTC: a new day in New York -> ann, next in turn.
    report = run(document)
    assert per_rep(report) == {"ann": (0, 1), "bob": (2, 1), "cid": (0, 0)}
    sample = report["changed"]["sample"]
    assert [(s["before"]["rep"], s["after"]["rep"]) for s in sample] == [("bob", "ann")]


def test_queries_do_not_grow_with_the_leads(django_assert_max_num_queries: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    data = scenario()
    with CaptureQueriesContext(connection) as seven:
        run(draft_document())
    for n, item in enumerate(data["leads"]):
        lead_routed(data["reps"]["ann"], created_at=at(10 + n, 9), country=item.country)
    with django_assert_max_num_queries(len(seven)):
        report = run(draft_document())
    assert report["leads"] == 14


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_replay_runs_in_a_read_only_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside any transaction (the command, the API under ATOMIC_REQUESTS=False), PostgreSQL
    itself refuses a write: a bug that wrote would fail, not change anything."""
    from django.db import InternalError

    from apps.engine.replay import Replay

    scenario()
    feed = Replay.feed

    def feed_and_write(self: Replay, lead: Any) -> Any:
        Lead.objects.filter(pk=lead.lead_id).update(company="written")
        return feed(self, lead)

    monkeypatch.setattr(Replay, "feed", feed_and_write)
    with pytest.raises(InternalError, match="read-only transaction"):
        routing_backtest(document=draft_document(), start=START, end=END)
    assert not Lead.objects.filter(company="written").exists()

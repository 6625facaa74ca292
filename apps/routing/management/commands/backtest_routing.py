"""Replay a past window's leads through a draft configuration document; nothing is written."""

from __future__ import annotations

import datetime
import json
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.configuration.items import ConfigValidationError
from apps.routing.backtest import routing_backtest
from apps.routing.backtest_report import backtest_report, trace_lines


def _error_lines(tree: Any, prefix: str = "") -> list[str]:
    """Nested DRF errors -> `rules.2.conditions: message` lines."""
    if isinstance(tree, dict):
        out: list[str] = []
        for key, value in tree.items():
            path = (
                prefix if key == "non_field_errors" else f"{prefix}.{key}" if prefix else str(key)
            )
            out.extend(_error_lines(value, path))
        return out
    if isinstance(tree, list):
        return [f"{prefix or '(document)'}: {message}" for message in tree]
    return [f"{prefix or '(document)'}: {tree}"]


def _date(value: str, option: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{option}: '{value}' is not a date; use YYYY-MM-DD.") from exc


class _Bar:
    """A one-line progress bar with rows/s on stderr (a terminal only; silent otherwise)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.began = time.monotonic()
        self.shown = False
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.tty:
            return
        rate = done / max(time.monotonic() - self.began, 1e-6)
        width = 30
        filled = width * done // total if total else width
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} leads, {rate:,.0f} rows/s"
        )
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")


class Command(BaseCommand):
    help = (
        "Backtest a draft routing configuration (a document as written by export_routing_config) "
        "against the leads created from --start to --end (inclusive, UTC days): leads per rep "
        "before and after, changed owners, unrouted leads, capacity breaches, balance. "
        "Writes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the draft configuration document (JSON)")
        parser.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--end", required=True, help="last day (included), YYYY-MM-DD")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--sample", type=int, default=20, help="changed leads to show (default 20)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        start = _date(options["start"], "--start")
        end = _date(options["end"], "--end")
        if end < start:
            raise CommandError(f"--end ({end}) is before --start ({start}).")
        if not 0 <= options["sample"] <= 1000:
            raise CommandError("--sample must be between 0 and 1000.")
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}") from exc
        stream = getattr(self.stderr, "_out", sys.stderr)
        bar = _Bar(stream)
        try:
            run = routing_backtest(
                document=document,
                start=start,
                end=end,
                progress=bar,
                sample_size=options["sample"],
            )
        except ConfigValidationError as exc:
            lines = _error_lines(exc.detail)
            for line in lines:
                self.stderr.write(line)
            raise CommandError(f"{len(lines)} error(s) in {path}; nothing was run.") from exc
        finally:
            bar.close()
        report = backtest_report(run)
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
            return
        self._print(report)

    def _print(self, report: dict[str, Any]) -> None:
        out = self.stdout.write
        window = report["window"]
        stats = report["stats"]
        out(
            f"Backtest {window['start']} to {window['end']} (UTC): {report['leads']} leads "
            f"replayed in {stats['seconds']:.2f}s ({stats['leads_per_second'] or 0:,} leads/s)"
        )
        out("")
        out(f"{'rep':<24}{'before':>8}{'after':>8}{'change':>8}")
        for row in report["per_rep"]:
            note = "" if row["in_draft"] else "  (not in the draft)"
            out(f"{row['rep']:<24}{row['before']:>8}{row['after']:>8}{row['delta']:>+8}{note}")
        before, after = report["unrouted"]["before"], report["unrouted"]["after"]
        out(f"{'(unrouted)':<24}{before['count']:>8}{after['count']:>8}")
        out("")
        balance = report["balance"]
        out(
            f"Balance (Gini over {balance['reps']} reps): before {_num(balance['gini_before'])}, "
            f"after {_num(balance['gini_after'])}"
        )
        changed = report["changed"]
        share = f" ({changed['share']:.1%})" if changed["share"] is not None else ""
        out(f"Owner would change: {changed['count']} leads{share}")
        if report["baseline"]["changed"] is not None:
            out(
                f"  (replaying the live configuration the same way changes "
                f"{report['baseline']['changed']}: the replay's approximations alone)"
            )
        for side, label in ((before, "Unrouted now"), (after, "Unrouted under the draft")):
            out(f"{label}: {side['count']}")
            for item in side["by_reason"]:
                out(f"  {item['count']:>6}  {item['label']}")
        if report["assigned_anyway"]:
            out(f"Assigned anyway (no one was eligible): {report['assigned_anyway']}")
        breaches = report["capacity_breaches"]
        out(f"Capacity breaches under the draft: {len(breaches) or 'none'}")
        for b in breaches:
            out(
                f"  {b['rep']}: {b['limit']} {b['cap']} exceeded by {b['assignments']} "
                f"assignment(s), peak {b['peak']}, first at {b['first_at']}"
            )
        if changed["sample"]:
            out("")
            out(f"Sample of changed leads ({len(changed['sample'])}):")
        for item in changed["sample"]:
            out("")
            out(
                f"Lead #{item['lead_id']} {item['email']} created {item['created_at']}: "
                f"{item['before']['rep'] or 'unrouted'} -> {item['after']['rep'] or 'unrouted'}"
            )
            for side in ("before", "after"):
                out(f"  {side}: {item[side]['reason']}")
                for line in trace_lines(item[side]["trace"]):
                    out(f"    {line}")
        out("")
        out("Approximations:")
        for note in report["approximations"]:
            out(f"  - {note}")


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"

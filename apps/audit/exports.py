"""The rule audit as a CSV a spreadsheet opens cleanly: UTF-8 with a byte-order mark (so Excel
reads accents and arrows right), one row per rule, then the leads no rule placed and the
sign-offs, each block under its own header row, separated by an empty row."""

from __future__ import annotations

import csv
import io
from typing import Any

__all__ = ["RULE_COLUMNS", "rule_audit_csv"]

RULE_COLUMNS = [
    "position",
    "rule",
    "active",
    "hits",
    "converted",
    "conversion_rate",
    "median_response_seconds",
    "never_fired",
    "matched",
    "shadowed_by",
    "changes",
]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Plain values; text a spreadsheet would run as a formula is quoted with a leading '."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _shadowed(entries: list[dict[str, Any]]) -> str:
    parts = []
    for entry in entries:
        how = f"{entry['leads']} leads" if entry["how"] == "data" else "its conditions cover"
        parts.append(f"{entry['name']} ({how})")
    return "; ".join(parts)


def _changes(entries: list[dict[str, Any]]) -> str:
    return " | ".join(
        f"{e['at']} v{e['version']} {e['user'] or 'system'}: {e['summary']}" for e in entries
    )


def rule_audit_csv(report: dict[str, Any]) -> str:
    """The report of :func:`apps.audit.selectors.rule_audit_report` as CSV text (with BOM)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(RULE_COLUMNS)
    for rule in report["rules"]:
        row = [
            rule["position"],
            rule["name"],
            rule["active"],
            rule["hits"],
            rule["converted"],
            rule["conversion_rate"],
            rule["median_response_seconds"],
            rule["never_fired"],
            rule["matched"],
            _shadowed(rule["shadowed_by"]),
            _changes(rule["changes"]),
        ]
        writer.writerow([_cell(value) for value in row])
    for rule in report["removed_rules"]:
        row = ["", f"{rule['name']} (removed)", False, rule["hits"], "", "", "", "", "", "",
               _changes(rule["changes"])]  # fmt: skip
        writer.writerow([_cell(value) for value in row])
    writer.writerow([])
    writer.writerow(["unrouted_reason", "leads"])
    for entry in report["unrouted"]["by_reason"]:
        writer.writerow([_cell(entry["reason"]), entry["leads"]])
    writer.writerow([_cell("total"), report["unrouted"]["total"]])
    writer.writerow([])
    writer.writerow(["window_start", "window_end", "reviewed_by", "reviewed_at", "notes"])
    window = report["window"]
    for sign_off in report["sign_offs"]:
        writer.writerow(
            [window["start"], window["end"], _cell(sign_off["reviewed_by"]),
             sign_off["reviewed_at"], _cell(sign_off["notes"])]
        )  # fmt: skip
    if not report["sign_offs"]:
        writer.writerow([window["start"], window["end"], "not signed off", "", ""])
    return out.getvalue()

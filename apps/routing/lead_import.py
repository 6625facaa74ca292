"""Importing leads from a CSV export: validate each row as intake does, save in batches, route.

Rows are read one at a time (apps.core.csvfiles), mapped to intake fields
(apps.routing.import_columns), validated and normalised by the intake serializer (the same
codes, names and messages as `POST /api/leads/`; a common row by its fast path, which runs the
serializer's own checks without DRF's per-field machinery), and saved `BATCH_ROWS` at a time,
each batch committed on its own: a crash keeps every batch before it. Each saved batch is then routed
through `leads_route` (the batch path of route_pending: same engine, same rotation, a failing
batch retried lead by lead), unless routing is off (the leads wait `new` for route_pending).

Re-running a file imports nothing twice: every imported lead carries a key, unique per
submitting account, and all imports submit as one account (`import_account`). The key is the
row's `external_id` when it has one, else `import:` and a hash of the row's normalised fields
(so the same row, however it was spelled, gets the same key). Rows whose key is taken count as
duplicates; a re-run also routes any of them a crash left `new`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from apps.core.csvfiles import csv_rows_open
from apps.core.gc_tuning import gc_batch_thresholds
from apps.leads.models import Lead, LeadStatus
from apps.routing.import_columns import columns_resolve, row_payload
from apps.routing.intake import lead_rows
from apps.routing.intake_serializer import IntakeFastPath, LeadIntakeSerializer
from apps.routing.tasks import leads_route_counted
from apps.routing.writers import writers_current

logger = logging.getLogger(__name__)

#: Rows saved per transaction. The saved leads are routed IMPORT_ROUTING_BATCH_SIZE per
#: transaction (settings: fewer, larger transactions than live routing's ROUTING_BATCH_SIZE,
#: whose fixed cost per transaction dominated an import, bench/import.py).
BATCH_ROWS = 1000
#: The account every import submits as: its leads' keys share one scope.
IMPORT_ACCOUNT = "lead-import"
KEY_PREFIX = "import:"
#: Rejected rows kept in the report itself (all of them go to the rejects CSV).
REPORT_REJECTS = 200

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RowError:
    field: str
    message: str
    code: str


@dataclass(frozen=True)
class Reject:
    line: int
    errors: tuple[RowError, ...]

    def text(self) -> str:
        return "; ".join(f"{error.field}: {error.message}" for error in self.errors)


@dataclass
class ImportReport:
    """What an import did; `routed` counts routing outcomes (assigned, unrouted, duplicate...)."""

    encoding: str = ""
    delimiter: str = ","
    header: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    routed: Counter[str] = field(default_factory=Counter)
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    dry_run: bool = False

    def top_reasons(self, limit: int = 10) -> list[dict[str, Any]]:
        return [
            {"field": key[0], "code": key[1], "count": count, "example": self.examples[key]}
            for key, count in self.reasons.most_common(limit)
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "columns": {
                name: target for name, target in zip(self.header, self.targets, strict=True) if name
            },
            "rows": self.rows,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "routed": dict(self.routed),
            "dry_run": self.dry_run,
            "top_reasons": self.top_reasons(),
            "rejects": [{"line": reject.line, "errors": reject.text()} for reject in self.rejects],
        }


def import_account() -> Any:
    """The account imports submit as (inactive: it cannot sign in), created on first use."""
    user, created = get_user_model().objects.get_or_create(
        username=IMPORT_ACCOUNT, defaults={"is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def row_errors(detail: Any, prefix: str = "") -> Iterator[RowError]:
    """DRF error detail -> one RowError per message, `extra.key` style paths."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = prefix if key == "non_field_errors" else f"{prefix}.{key}" if prefix else key
            yield from row_errors(value, str(name))
    elif isinstance(detail, list):
        for item in detail:
            yield from row_errors(item, prefix)
    else:
        yield RowError(prefix or "row", str(detail), str(getattr(detail, "code", "invalid")))


def _json_default(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def row_key(data: Mapping[str, Any]) -> str:
    """The row's idempotency key: its external_id, else `import:` + a hash of its fields."""
    if data.get("external_id"):
        return str(data["external_id"])
    canonical = json.dumps(data, sort_keys=True, default=_json_default, ensure_ascii=False)
    return KEY_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()[:40]


@dataclass
class _Pending:
    line: int
    key: str
    data: dict[str, Any]


class _RejectsWriter:
    """The rejects CSV: the file's own columns, then `line` and `errors`."""

    def __init__(self, out: IO[str] | None, header: Sequence[str]) -> None:
        self.writer = csv.writer(out) if out is not None else None
        self.width = len(header)
        if self.writer is not None:
            self.writer.writerow([*header, "line", "errors"])

    def write(self, cells: Sequence[str], reject: Reject) -> None:
        if self.writer is not None:
            padded = [*cells[: self.width], *[""] * (self.width - len(cells))]
            self.writer.writerow([*padded, reject.line, reject.text()])


def leads_import(
    *,
    open_binary: Callable[[], IO[bytes]],
    columns: Mapping[str, str] | None = None,
    extra_unknown: bool = False,
    source: str = "",
    dry_run: bool = False,
    route: bool = True,
    rejects_out: IO[str] | None = None,
    progress: Callable[[ImportReport, int], None] | None = None,
    on_open: Callable[[ImportReport], None] | None = None,
    batch_rows: int = BATCH_ROWS,
    route_batch: int | None = None,
) -> ImportReport:
    """Import the CSV that `open_binary` opens (read twice, a row at a time).

    `progress(report, bytes_read)` is called after each batch; `on_open(report)` once the
    header is read and mapped (raises apps.routing.import_columns.MappingError or
    apps.core.csvfiles.CsvFileError before anything is saved). `source` fills a blank
    lead_source. Nothing is written with `dry_run` (the rejects CSV still is).
    """
    report = ImportReport(dry_run=dry_run)
    account = None if dry_run else import_account()
    route_batch = max(1, route_batch or settings.IMPORT_ROUTING_BATCH_SIZE)
    with gc_batch_thresholds(), csv_rows_open(open_binary) as rows:
        report.encoding, report.delimiter = rows.encoding, rows.delimiter
        report.header = rows.header
        report.targets = columns_resolve(
            rows.header, explicit=columns or {}, extra_unknown=extra_unknown
        )
        if on_open is not None:
            on_open(report)
        rejects = _RejectsWriter(rejects_out, rows.header)
        batch: list[_Pending] = []
        for line, cells in rows.rows:
            report.rows += 1
            pending = _row_check(report, rejects, line, cells, source=source)
            if pending is not None:
                batch.append(pending)
            if report.rows % batch_rows == 0:
                _batch_save(report, batch, account=account, route=route, route_batch=route_batch)
                batch = []
                if progress is not None:
                    progress(report, rows.bytes_read)
        _batch_save(report, batch, account=account, route=route, route_batch=route_batch)
        if progress is not None:
            progress(report, rows.bytes_read)
    return report


@cache
def _fast_path() -> IntakeFastPath:
    """The serializer's checks without DRF's per-field machinery (built once, on first use)."""
    return IntakeFastPath()


def _row_check(
    report: ImportReport, rejects: _RejectsWriter, line: int, cells: list[str], *, source: str
) -> _Pending | None:
    """Validate one row as intake would: a pending insert, or a reject recorded."""
    errors: list[RowError] = []
    extra_cells = cells[len(report.targets) :]
    if any(cell.strip() for cell in extra_cells):
        errors.append(
            RowError(
                "row",
                f"The row has {len(cells)} cells; the header has {len(report.targets)}.",
                "too_many_cells",
            )
        )
    payload = row_payload(cells, report.targets)
    data = None if errors else _fast_path().validated(payload)
    if data is None:
        serializer = LeadIntakeSerializer(data=payload)
        if not serializer.is_valid():
            errors.extend(row_errors(serializer.errors))
        else:
            data = dict(serializer.validated_data)
    if errors:
        reject = Reject(line=line, errors=tuple(errors))
        report.rejected += 1
        for error in errors:
            report.reasons[(error.field, error.code)] += 1
            report.examples.setdefault((error.field, error.code), error.message)
        if len(report.rejects) < REPORT_REJECTS:
            report.rejects.append(reject)
        rejects.write(cells, reject)
        return None
    assert data is not None
    data["email"] = data["email"].strip().lower()  # as saved (lead_build), so as keyed
    key = row_key(data)
    data["external_id"] = key
    if source and not data.get("lead_source"):
        data["lead_source"] = source
    return _Pending(line=line, key=key, data=data)


def _batch_save(
    report: ImportReport,
    batch: list[_Pending],
    *,
    account: Any,
    route: bool,
    route_batch: int,
) -> None:
    """Save the batch's new keys in one transaction, then route them (and any lead of an
    earlier run left `new`)."""
    if not batch:
        return
    # A key twice in the file: the first row is the lead, later ones are duplicates.
    unique: dict[str, _Pending] = {}
    for pending in batch:
        unique.setdefault(pending.key, pending)
    report.duplicates += len(batch) - len(unique)
    if account is None:  # a dry run: count what would be saved
        taken = set(
            Lead.objects.filter(
                submitted_by__username=IMPORT_ACCOUNT, external_id__in=list(unique)
            ).values_list("external_id", flat=True)
        )
        report.duplicates += len(taken)
        report.imported += len(unique) - len(taken)
        return
    for _attempt in range(3):
        try:
            created, waiting = _batch_insert(list(unique.values()), account=account)
            break
        except IntegrityError:
            # Another import saved some of these keys since the read: read them again.
            logger.info("import: a batch met keys saved meanwhile; retrying it")
    else:  # pragma: no cover - three lost races in a row
        raise RuntimeError("The import kept racing another import of the same rows.")
    report.imported += len(created)
    report.duplicates += len(unique) - len(created)
    if route:
        ids = [*waiting, *created]
        for start in range(0, len(ids), route_batch):
            report.routed.update(leads_route_counted(ids[start : start + route_batch]))


def _batch_insert(batch: list[_Pending], *, account: Any) -> tuple[list[int], list[int]]:
    """(ids of the leads created, ids of this batch's earlier leads still `new`)."""
    with transaction.atomic():
        existing = dict(
            Lead.objects.filter(
                submitted_by=account, external_id__in=[pending.key for pending in batch]
            ).values_list("external_id", "status")
        )
        rows = lead_rows(
            datas=[pending.data for pending in batch if pending.key not in existing],
            submitted_by=account,
        )
        created = [pk for pk in writers_current().leads.insert_rows(rows) if pk is not None]
    waiting: list[int] = []
    if any(status == LeadStatus.NEW for status in existing.values()):
        waiting = list(
            Lead.objects.filter(
                submitted_by=account,
                status=LeadStatus.NEW,
                external_id__in=[key for key, status in existing.items()],
            ).values_list("pk", flat=True)
        )
    return created, waiting


__all__ = [
    "BATCH_ROWS",
    "IMPORT_ACCOUNT",
    "KEY_PREFIX",
    "ImportReport",
    "Reject",
    "RowError",
    "import_account",
    "leads_import",
    "row_errors",
    "row_key",
]

"""Import runs and saved mappings: the records around `leads_import` that the command, the
admin page and the `imports` queue's task share."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import IO, Any

from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.csvfiles import ENCODING_LABELS, CsvFileError, csv_rows_open
from apps.leads.models import LeadImport, LeadImportMapping, LeadImportStatus
from apps.routing.import_columns import MappingError, columns_resolve, row_payload, target_check
from apps.routing.intake_serializer import LeadIntakeSerializer
from apps.routing.lead_import import ImportReport, leads_import, row_errors

#: The run record's progress is saved at most this often (seconds) while a file imports.
PROGRESS_EVERY = 1.0


def import_mapping_save(*, name: str, columns: Mapping[str, str], user: Any = None) -> Any:
    """Save (or replace) the mapping `name`: column -> field, "" skips a column."""
    for target in columns.values():
        target_check(target)
    mapping, _ = LeadImportMapping.objects.update_or_create(
        name=name, defaults={"columns": dict(columns), "created_by": user}
    )
    return mapping


def import_mapping_get(*, name: str) -> dict[str, str]:
    mapping = LeadImportMapping.objects.filter(name=name).first()
    if mapping is None:
        known = ", ".join(LeadImportMapping.objects.values_list("name", flat=True)) or "none"
        raise MappingError(f"There is no saved mapping '{name}' (saved: {known}).")
    return dict(mapping.columns)


def import_preview(
    *,
    open_binary: Callable[[], IO[bytes]],
    columns: Mapping[str, str] | None = None,
    extra_unknown: bool = False,
    rows: int = 5,
) -> dict[str, Any]:
    """The first `rows` rows as they would import: the detected encoding and delimiter, each
    column's field, each row's values and errors. Writes nothing."""
    with csv_rows_open(open_binary) as opened:
        targets = columns_resolve(
            opened.header, explicit=columns or {}, extra_unknown=extra_unknown
        )
        sample: list[dict[str, Any]] = []
        for line, cells in opened.rows:
            if len(sample) >= rows:
                break
            serializer = LeadIntakeSerializer(data=row_payload(cells, targets))
            valid = serializer.is_valid()
            sample.append(
                {
                    "line": line,
                    "cells": [*cells[: len(targets)], *[""] * (len(targets) - len(cells))],
                    "errors": []
                    if valid
                    else [f"{e.field}: {e.message}" for e in row_errors(serializer.errors)],
                }
            )
        return {
            "encoding": ENCODING_LABELS.get(opened.encoding, opened.encoding),
            "delimiter": opened.delimiter,
            "header": opened.header,
            "targets": targets,
            "rows": sample,
        }


def import_run_execute(
    *,
    run: LeadImport,
    open_binary: Callable[[], IO[bytes]],
    rejects_out: IO[str] | None,
    progress: Callable[[ImportReport, int], None] | None = None,
    batch_rows: int | None = None,
) -> ImportReport:
    """Run the import `run` describes, keeping its record current (status, counts, bytes read
    at most every PROGRESS_EVERY seconds) and its report at the end. A failure is recorded
    (status `failed`, the error) and raised; the batches before it stay saved."""
    last = [0.0]

    def saw_progress(report: ImportReport, bytes_read: int) -> None:
        if progress is not None:
            progress(report, bytes_read)
        if time.monotonic() - last[0] >= PROGRESS_EVERY and not run.dry_run:
            last[0] = time.monotonic()
            _counts_copy(run, report)
            run.bytes_read = bytes_read
            run.save(update_fields=[*_COUNT_FIELDS, "bytes_read"])

    def opened(report: ImportReport) -> None:
        run.encoding, run.delimiter = report.encoding, report.delimiter
        run.columns = report.as_dict()["columns"]
        if not run.dry_run:
            run.save(update_fields=["encoding", "delimiter", "columns"])

    run.status = LeadImportStatus.RUNNING
    run.started_at = timezone.now()
    if not run.dry_run:
        run.save(update_fields=["status", "started_at"])
    kwargs: dict[str, Any] = {"batch_rows": batch_rows} if batch_rows else {}
    try:
        report = leads_import(
            open_binary=open_binary,
            columns=run.columns,
            extra_unknown=run.extra_unknown,
            source=run.source,
            dry_run=run.dry_run,
            route=run.route,
            rejects_out=rejects_out,
            progress=saw_progress,
            on_open=opened,
            **kwargs,
        )
    except (CsvFileError, MappingError) as error:
        _fail(run, str(error))
        raise
    except Exception as error:
        _fail(run, f"{type(error).__name__}: {error}")
        raise
    _counts_copy(run, report)
    run.bytes_read = run.bytes_total or run.bytes_read
    run.report = report.as_dict()
    run.status = LeadImportStatus.DONE
    run.finished_at = timezone.now()
    if not run.dry_run:
        run.save()
    return report


_COUNT_FIELDS = ("rows", "imported", "duplicates", "rejected", "routed")


def _counts_copy(run: LeadImport, report: ImportReport) -> None:
    run.rows, run.imported = report.rows, report.imported
    run.duplicates, run.rejected = report.duplicates, report.rejected
    run.routed = dict(report.routed)


def _fail(run: LeadImport, message: str) -> None:
    run.status = LeadImportStatus.FAILED
    run.error = message
    run.finished_at = timezone.now()
    if not run.dry_run:
        run.save(update_fields=["status", "error", "finished_at"])


def import_run_upload(
    *,
    upload: IO[bytes],
    file_name: str,
    columns: Mapping[str, str],
    extra_unknown: bool = False,
    user: Any,
) -> LeadImport:
    """Store an uploaded file and its run record (`uploaded`: its mapping is yet to be
    confirmed), starting from `columns` (a saved mapping, or nothing)."""
    with transaction.atomic():
        run = LeadImport(
            file_name=file_name[:255],
            columns=dict(columns),
            status=LeadImportStatus.UPLOADED,
            extra_unknown=extra_unknown,
            created_by=user,
        )
        run.file.save(os.path.basename(file_name) or "leads.csv", File(upload), save=False)
        run.bytes_total = run.file.size
        run.save()
    return run


def import_run_stored(*, run_id: int) -> LeadImport | None:
    """Run the stored upload of a `pending` (or interrupted `running`) run, writing the rejects
    CSV beside it; None when the run is already finished (a redelivered task)."""
    # Claimed once: a second task for a pending run finds it running. A `running` run is taken
    # again only by a redelivered task (its worker died); its rows' keys keep that safe.
    claimed = LeadImport.objects.filter(pk=run_id, status=LeadImportStatus.PENDING).update(
        status=LeadImportStatus.RUNNING
    )
    run = LeadImport.objects.filter(pk=run_id).first()
    if run is None or (not claimed and run.status != LeadImportStatus.RUNNING):
        return None
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as rejects:
        with contextlib.suppress(CsvFileError, MappingError):
            import_run_execute(
                run=run,
                open_binary=lambda: run.file.storage.open(str(run.file.name), "rb"),
                rejects_out=rejects,
            )
        if run.rejected:
            rejects.seek(0)
            run.rejects_file.save(f"rejects-{run.pk}.csv", File(rejects), save=False)
            run.save(update_fields=["rejects_file"])
    return run


def import_files_expire(*, now: datetime, retention_days: int) -> int:
    """Delete the uploaded files and rejects CSVs of runs older than ``retention_days``: those
    that finished (done or failed) before the cut-off, and uploads whose mapping was never
    confirmed. A lead export holds personal data; the run's record (counts, report, first
    rejects) stays. Returns how many runs' files were removed."""
    cutoff = now - timedelta(days=retention_days)
    finished = Q(
        status__in=[LeadImportStatus.DONE, LeadImportStatus.FAILED], finished_at__lt=cutoff
    )
    abandoned = Q(status=LeadImportStatus.UPLOADED, created_at__lt=cutoff)
    removed = 0
    for run in LeadImport.objects.filter(finished | abandoned, files_removed_at__isnull=True):
        for stored in (run.file, run.rejects_file):
            if stored:
                stored.delete(save=False)  # a file already gone is no error
        run.files_removed_at = now
        run.save(update_fields=["file", "rejects_file", "files_removed_at"])
        removed += 1
    return removed


__all__ = [
    "import_files_expire",
    "import_mapping_get",
    "import_mapping_save",
    "import_preview",
    "import_run_execute",
    "import_run_stored",
    "import_run_upload",
]

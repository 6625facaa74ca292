"""Import leads from a CSV export: mapped, validated like the API, saved and routed in batches."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.csvfiles import ENCODING_LABELS, CsvFileError
from apps.leads.models import LeadImport
from apps.routing.import_columns import MappingError, mapping_parse
from apps.routing.import_runs import import_mapping_get, import_mapping_save, import_run_execute
from apps.routing.lead_import import ImportReport


class _Progress:
    """A progress bar on a terminal (rows, rows/s, ETA from the bytes left); on anything else
    a plain line every `every` seconds."""

    def __init__(self, stream: Any, total_bytes: int, every: float = 10.0) -> None:
        self.stream = stream
        self.total = max(total_bytes, 1)
        self.began = time.monotonic()
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.every = every
        self.last = self.began
        self.shown = False

    def __call__(self, report: ImportReport, bytes_read: int) -> None:
        now = time.monotonic()
        elapsed = max(now - self.began, 1e-6)
        rate = report.rows / elapsed
        done = min(bytes_read / self.total, 1.0)
        eta = elapsed * (1 - done) / done if done else 0.0
        counts = f"{report.imported:,} imported, {report.rejected:,} rejected"
        if self.tty:
            filled = int(30 * done)
            self.stream.write(
                f"\r[{'#' * filled}{'.' * (30 - filled)}] {report.rows:,} rows, "
                f"{rate:,.0f} rows/s, ETA {eta:,.0f}s ({counts})   "
            )
            self.stream.flush()
            self.shown = True
        elif now - self.last >= self.every:
            self.last = now
            self.stream.write(
                f"{report.rows:,} rows read ({done:.0%}), {rate:,.0f} rows/s, {counts}\n"
            )

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")


class Command(BaseCommand):
    help = (
        "Import leads from a CSV file (any size, read a row at a time): columns mapped to lead "
        "fields, each row validated and normalised as POST /api/leads/ does, saved in batches "
        "and routed. A re-run imports nothing twice. Rejected rows are reported with their line "
        "and written to a CSV."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the CSV file")
        parser.add_argument(
            "--mapping",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="map a column to a lead field or extra.<key>; COLUMN= skips it (repeatable)",
        )
        parser.add_argument("--use-mapping", metavar="NAME", help="start from a saved mapping")
        parser.add_argument("--save-mapping", metavar="NAME", help="save the mapping used")
        parser.add_argument(
            "--extra-unknown",
            action="store_true",
            help="keep unmapped columns as custom attributes (extra.<column>)",
        )
        parser.add_argument("--source", default="", help="lead_source of rows that have none")
        parser.add_argument("--dry-run", action="store_true", help="validate only, save nothing")
        parser.add_argument(
            "--no-route",
            action="store_true",
            help="leave the leads new (route_pending routes them)",
        )
        parser.add_argument(
            "--rejects",
            metavar="OUT.csv",
            help="where to write the rejected rows (default: FILE's name + .rejects.csv here)",
        )
        parser.add_argument("--batch", type=int, default=None, help="rows per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        if options["batch"] is not None and not 1 <= options["batch"] <= 100_000:
            raise CommandError("--batch: between 1 and 100,000 rows.")
        if len(options["source"]) > 100:
            raise CommandError("--source: at most 100 characters.")
        try:
            columns = (
                import_mapping_get(name=options["use_mapping"]) if options["use_mapping"] else {}
            )
            columns.update(mapping_parse(options["mapping"]))
        except MappingError as exc:
            raise CommandError(str(exc)) from exc
        rejects_path = Path(options["rejects"] or f"{path.stem}.rejects.csv")
        run = LeadImport(
            file_name=str(path)[:255],
            columns=columns,
            source=options["source"],
            extra_unknown=options["extra_unknown"],
            dry_run=options["dry_run"],
            route=not options["no_route"],
            bytes_total=path.stat().st_size,
        )
        if not run.dry_run:
            run.save()
        rejects_path.parent.mkdir(parents=True, exist_ok=True)
        stream = getattr(self.stderr, "_out", sys.stderr)
        bar = _Progress(stream, run.bytes_total)
        began = time.monotonic()
        try:
            with rejects_path.open("w", encoding="utf-8", newline="") as rejects:
                report = self._run(run, path, rejects, bar, options)
        finally:
            bar.close()
        if not report.rejected:
            rejects_path.unlink(missing_ok=True)
        if options["save_mapping"]:
            self._save_mapping(options["save_mapping"], report, run.dry_run)
        self._print(report, time.monotonic() - began, rejects_path)

    def _run(
        self, run: LeadImport, path: Path, rejects: IO[str], bar: _Progress, options: Any
    ) -> ImportReport:
        try:
            return import_run_execute(
                run=run,
                open_binary=lambda: path.open("rb"),
                rejects_out=rejects,
                progress=bar,
                batch_rows=options["batch"],
            )
        except (CsvFileError, MappingError) as exc:
            raise CommandError(f"{path}: {exc} Nothing was imported.") from exc

    def _save_mapping(self, name: str, report: ImportReport, dry_run: bool) -> None:
        if dry_run:
            self.stdout.write(f"Mapping '{name}' not saved: a dry run writes nothing.")
            return
        columns = {
            column: target
            for column, target in zip(report.header, report.targets, strict=True)
            if column
        }
        import_mapping_save(name=name, columns=columns)
        self.stdout.write(f"Mapping saved as '{name}' (--use-mapping {name} reuses it).")

    def _print(self, report: ImportReport, seconds: float, rejects_path: Path) -> None:
        out = self.stdout.write
        delimiter = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(
            report.delimiter, repr(report.delimiter)
        )
        out(
            f"Read as {ENCODING_LABELS.get(report.encoding, report.encoding)}, {delimiter}-separated."
        )
        mapped = [
            f"{c} -> {t}" for c, t in zip(report.header, report.targets, strict=True) if c and t
        ]
        skipped = [c for c, t in zip(report.header, report.targets, strict=True) if c and not t]
        out(f"Columns: {', '.join(mapped) or 'none mapped'}")
        if skipped:
            out(f"Skipped columns: {', '.join(skipped)}")
        verb = "would be imported" if report.dry_run else "imported"
        rate = report.rows / seconds if seconds else 0.0
        out(
            f"{report.rows:,} rows in {seconds:.1f}s ({rate:,.0f} rows/s): {report.imported:,} {verb}, "
            f"{report.duplicates:,} duplicates (already imported), {report.rejected:,} rejected."
        )
        if report.routed:
            out("Routed: " + ", ".join(f"{n:,} {k}" for k, n in sorted(report.routed.items())))
        elif not report.dry_run and report.imported:
            out("Not routed: the leads wait as new for route_pending.")
        if report.rejected:
            out("Top rejection reasons:")
            for reason in report.top_reasons():
                out(f"  {reason['count']:>7,}  {reason['field']}: {reason['example']}")
            out("Rejected rows (line: field: message):")
            for reject in report.rejects[:20]:
                out(f"  line {reject.line}: {reject.text()}")
            if report.rejected > 20:
                out(f"  ... and {report.rejected - 20:,} more")
            out(f"All rejected rows, with their errors: {os.fspath(rejects_path)}")

"""Write the routing configuration document (API.md) to a file, or to stdout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.configuration.export import routing_config_export_based


class Command(BaseCommand):
    help = (
        "Export the whole routing configuration as JSON (to FILE, or stdout), with the "
        "version it is (based_on_version), so an import refuses it once it is stale."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="where to write; stdout when omitted")

    def handle(self, *args: Any, **options: Any) -> None:
        text = json.dumps(routing_config_export_based(), indent=2, ensure_ascii=False) + "\n"
        if options["file"]:
            Path(options["file"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {options['file']}.")
        else:
            self.stdout.write(text, ending="")

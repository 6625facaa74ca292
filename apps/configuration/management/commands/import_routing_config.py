"""Replace the routing configuration with a document (API.md), all or nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.configuration.document import document_validate
from apps.configuration.items import ConfigValidationError
from apps.configuration.models import RoutingConfigVersion
from apps.configuration.services import ConfigVersionConflict, routing_config_apply


def _lines(tree: Any, prefix: str = "") -> list[str]:
    """Nested DRF errors -> `rules.2.conditions: message` lines."""
    if isinstance(tree, dict):
        out: list[str] = []
        for key, value in tree.items():
            path = (
                prefix if key == "non_field_errors" else f"{prefix}.{key}" if prefix else str(key)
            )
            out.extend(_lines(value, path))
        return out
    if isinstance(tree, list):
        return [f"{prefix or '(document)'}: {message}" for message in tree]
    return [f"{prefix or '(document)'}: {tree}"]


class Command(BaseCommand):
    help = "Validate FILE completely, then replace the routing configuration with it atomically."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a JSON document as written by export_routing_config")
        parser.add_argument("--note", default="", help="why; stored with the new config version")
        parser.add_argument("--dry-run", action="store_true", help="validate only; change nothing")
        parser.add_argument(
            "--force",
            action="store_true",
            help="apply even if the file is based on an older version than the current one "
            "(changes made since are undone), and remove rules that still own open leads",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}") from exc
        try:
            if options["dry_run"]:
                document_validate(document)
                self.stdout.write(f"{path} is valid; nothing changed (dry run).")
                return
            version = routing_config_apply(
                document=document,
                actor=None,
                source=RoutingConfigVersion.Source.IMPORT,
                note=options["note"],
                force=options["force"],
            )
        except ConfigVersionConflict as exc:
            raise CommandError(
                f"{path}: {exc.message} Use --force to apply it anyway; the configuration was "
                "not changed."
            ) from exc
        except ConfigValidationError as exc:
            lines = _lines(exc.detail)
            for line in lines:
                self.stderr.write(line)
            raise CommandError(
                f"{len(lines)} error(s) in {path}; the configuration was not changed."
            ) from exc
        self.stdout.write(f"Applied {path} as version {version.number}: {version.summary}")

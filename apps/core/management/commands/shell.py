"""``manage.py shell`` without the auto-import errors: django-simple-history's historical models
live in no importable module (their ``__module__`` is the app package), so Django's automatic
imports listed six of them as failures on every start. They are left out; everything else is
imported as Django does (``apps.get_model`` reaches the historical models when needed)."""

from __future__ import annotations

import importlib
from typing import Any

from django.core.management.commands import shell


def _importable(path: str) -> bool:
    module, _, name = path.rpartition(".")
    try:
        return hasattr(importlib.import_module(module), name)
    except ImportError:
        return False


class Command(shell.Command):
    def get_auto_imports(self) -> Any:
        return [path for path in super().get_auto_imports() if _importable(path)]

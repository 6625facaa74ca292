"""Whether the live configuration compiles, persisted for every process (RoutingConfigState).

Routing records here the last configuration that compiled (its fallback when the live one does
not, even in a process that never saw it compile) and a broken one (managers are alerted once
per broken version). Both writes run on commit, outside the routing transaction, so no routing
transaction ever waits on this row.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading

from django.db import transaction
from django.utils import timezone

from apps.engine import ConfigSnapshot, snapshot_to_json
from apps.routing.models import RoutingConfigState
from apps.routing.outbox import config_broken_announce

logger = logging.getLogger(__name__)

__all__ = ["config_state_broken", "config_state_good"]

_ROW = 1
_lock = threading.Lock()
#: What this process last wrote (set once written: a rolled-back write is tried again) and the
#: broken configuration it last logged, so it writes and logs once per change.
_recorded: dict[str, object] = {"good": None, "broken": None, "logged": None}


def _broken_key(version_number: int, errors: dict[str, list[str]]) -> str:
    text = json.dumps([version_number, errors], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def config_state_good(*, version_number: int, snapshot: ConfigSnapshot) -> None:
    """The live configuration compiled: keep it as the fallback and clear any broken state."""
    document = snapshot_to_json(snapshot)
    key = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    with _lock:
        if _recorded["good"] == key:
            return

    def write() -> None:
        RoutingConfigState.objects.update_or_create(
            pk=_ROW,
            defaults={
                "good_version_number": version_number,
                "good_snapshot": document,
                "good_at": timezone.now(),
                "broken_since": None,
                "broken_version_number": None,
                "broken_errors": {},
            },
        )
        with _lock:
            _recorded.update(good=key, broken=None, logged=None)

    transaction.on_commit(write, robust=True)


def config_state_broken(*, version_number: int, errors: dict[str, list[str]]) -> None:
    """The live configuration does not compile: log it, record it, alert managers once."""
    key = _broken_key(version_number, errors)
    with _lock:
        if _recorded["broken"] == key:
            return
        logged, _recorded["logged"] = _recorded["logged"], key
    if logged != key:
        logger.error(
            "Routing configuration v%s does not compile; routing goes on with the last one that "
            "did (if any): %s",
            version_number,
            errors,
        )

    def write() -> None:
        now = timezone.now()
        with transaction.atomic():
            state, _ = RoutingConfigState.objects.select_for_update().get_or_create(pk=_ROW)
            state.broken_since = state.broken_since or now
            state.broken_version_number = version_number
            state.broken_errors = errors
            first = state.alerted_key != key
            state.alerted_key = key
            state.save()
        with _lock:
            _recorded.update(broken=key, good=None)
        if first:  # once per broken version, whichever process noticed it first
            config_broken_announce(version_number, errors)

    transaction.on_commit(write, robust=True)


def config_state_forget() -> None:
    """Forget what this process recorded (tests: each starts from an empty database)."""
    with _lock:
        _recorded.update(good=None, broken=None, logged=None)

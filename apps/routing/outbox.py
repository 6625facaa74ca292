"""The transactional outbox: the notifications a routing change owes, written in its transaction.

Routing and the SLA sweep call `outbox_write` inside their own transaction, so the mails and
webhook events a change owes are rows committed (or rolled back) with it. Sending is the
notifications app's job (it sits above routing): on commit the dispatcher task is enqueued by
its registered name, and beat runs it every minute for whatever a broker outage or a killed
worker left pending, so nothing owed is lost and a slow mail server never blocks routing.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from apps.core.broker import task_enqueue
from apps.routing.models import OutboxKind
from apps.routing.write_outbox import OutboxRow, outbox_writer_current

__all__ = [
    "CONFIG_BROKEN_TASK",
    "OUTBOX_DISPATCH_TASK",
    "AssignmentNotice",
    "config_broken_announce",
    "notifications_suppressed",
    "outbox_suppressed",
    "outbox_write",
]

#: Tasks of the notifications app, enqueued by name: a message to the layer above, not an import.
OUTBOX_DISPATCH_TASK = "apps.notifications.tasks.outbox_dispatch"
CONFIG_BROKEN_TASK = "apps.notifications.tasks.config_broken_notify"

_suppressed: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "notifications_suppressed", default=False
)


@contextlib.contextmanager
def notifications_suppressed() -> Iterator[None]:
    """Send nothing inside this block (back-filled history such as the demo seed is not news)."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def outbox_suppressed() -> bool:
    return _suppressed.get()


def _announce(task_name: str, *args: object) -> None:
    if not _suppressed.get():
        task_enqueue(task_name, *args)


def config_broken_announce(version_number: int, errors: dict[str, list[str]]) -> None:
    """The live configuration does not compile (once per broken version): tell managers."""
    _announce(CONFIG_BROKEN_TASK, version_number, errors)


#: A new assignment to report: (assignment id, lead id, previous owner's rep id or None, when).
AssignmentNotice = tuple[int, int, int | None, datetime]


def outbox_write(
    *,
    assignments: Sequence[AssignmentNotice] = (),
    reminded: Sequence[int] = (),
    escalated: Sequence[int] = (),
    at: datetime | None = None,
) -> None:
    """Owe the notifications of these changes, in the caller's transaction (one bulk insert).

    Per assignment: the new owner's mail, the webhook event, and the previous owner's "taken
    away" mail when the lead was taken from someone. Per reminded lead (and per escalated lead,
    `at` being when): the mail and the webhook event. On commit a dispatcher is asked to send
    them; if the broker is down, the beat dispatcher finds them pending within a minute. Nothing
    is written while notifications are suppressed.
    """
    if _suppressed.get():
        return
    rows: list[OutboxRow] = []
    for assignment_id, lead_id, previous_rep_id, assigned_at in assignments:
        rows.append((OutboxKind.ASSIGNED_MAIL, lead_id, assignment_id, None, assigned_at))
        rows.append((OutboxKind.ASSIGNMENT_EVENT, lead_id, assignment_id, None, assigned_at))
        if previous_rep_id is not None:
            rows.append(
                (OutboxKind.TAKEN_AWAY_MAIL, lead_id, assignment_id, previous_rep_id, assigned_at)
            )
    when = at or timezone.now()
    for lead_ids, pair in (
        (reminded, (OutboxKind.REMINDER_MAIL, OutboxKind.REMINDER_EVENT)),
        (escalated, (OutboxKind.ESCALATION_MAIL, OutboxKind.ESCALATION_EVENT)),
    ):
        rows += [(kind, lead_id, None, None, when) for lead_id in lead_ids for kind in pair]
    if not rows:
        return
    # A row owed already (the same change reported twice) is kept, never doubled.
    outbox_writer_current().insert(rows, now=timezone.now())
    transaction.on_commit(partial(_announce, OUTBOX_DISPATCH_TASK))

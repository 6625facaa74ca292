"""The one place that chooses how routing writes: PostgreSQL statements or the ORM.

Each kind of write has one interface and two implementations side by side:

| kind               | interface          | PostgreSQL (one statement)   | ORM (any database)   |
|--------------------|--------------------|------------------------------|----------------------|
| first assignments  | `AssignmentWriter` | `PostgresAssignmentWriter`   | `OrmAssignmentWriter`|
| sweep pages        | `PageWriter`       | `PostgresPageWriter`         | `OrmPageWriter`      |
| rep counters       | `CounterWriter`    | `PostgresCounterWriter`      | `OrmCounterWriter`   |
| imported leads     | `LeadWriter`       | `PostgresLeadWriter`         | `OrmLeadWriter`      |

`writers_current()` picks the set: PostgreSQL's on PostgreSQL, the ORM's elsewhere. (The outbox
rows, written below the selectors, choose the same way in apps.routing.write_outbox.) Tests pin
either set with `PINNED` to check both write the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from apps.routing.locking import rep_counters_lock
from apps.routing.write_assignments import (
    AssignmentWriter,
    OrmAssignmentWriter,
    PostgresAssignmentWriter,
)
from apps.routing.write_counters import CounterWriter, OrmCounterWriter, PostgresCounterWriter
from apps.routing.write_leads import LeadWriter, OrmLeadWriter, PostgresLeadWriter
from apps.routing.write_pages import OrmPageWriter, PageWriter, PostgresPageWriter


@dataclass(frozen=True)
class Writers:
    """One implementation of each kind of write."""

    assignments: AssignmentWriter
    pages: PageWriter
    counters: CounterWriter
    leads: LeadWriter


POSTGRES_WRITERS = Writers(
    assignments=PostgresAssignmentWriter(),
    pages=PostgresPageWriter(),
    counters=PostgresCounterWriter(),
    leads=PostgresLeadWriter(),
)
ORM_WRITERS = Writers(
    assignments=OrmAssignmentWriter(),
    pages=OrmPageWriter(),
    counters=OrmCounterWriter(),
    leads=OrmLeadWriter(),
)

#: Tests set this to one of the two sets above; None chooses by database.
PINNED: Writers | None = None


def writers_current() -> Writers:
    """The writers for the current database connection."""
    if PINNED is not None:
        return PINNED
    return POSTGRES_WRITERS if connection.vendor == "postgresql" else ORM_WRITERS


def rep_counters_release(*, rep_id: int) -> None:
    """One open lead fewer for `rep_id` (a close, or a rep a page had not locked): its row is
    locked, its counter moved and stored."""
    counters = rep_counters_lock([rep_id])
    for each in counters.values():
        each.release()
    writers_current().counters.write(counters.values())


__all__ = [
    "ORM_WRITERS",
    "PINNED",
    "POSTGRES_WRITERS",
    "Writers",
    "rep_counters_release",
    "writers_current",
]

"""Leads this process saw leave `new`: their own route_lead tasks need no database round trip.

Under a backlog one route_lead task routes up to ROUTING_BATCH_SIZE waiting leads (the oldest
first), and the tasks of the others arrive moments later, in the same order, each of them asking
the database whether its lead is still `new`. A worker process remembers the leads its committed
batches settled and answers those tasks itself. It is only a shortcut: a lead it does not
remember is looked up as before, and no lead ever returns to `new`.

The memory is per process, bounded (SETTLED_MAX leads, each for SETTLED_SECONDS), and forgotten
whenever the process opens a new database connection: after a failover or a restore the
database may no longer hold what this process committed (a standby promoted behind the primary,
a backup taken before), and ids may then be issued again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from django.db.backends.signals import connection_created

__all__ = ["SETTLED_MAX", "SETTLED_SECONDS", "SettledLeads", "settled_leads"]

#: At most this many leads remembered (the oldest are forgotten first): a few batches' worth.
SETTLED_MAX = 10_000
#: A lead is remembered this long: its task comes within moments of its batch, or not soon.
SETTLED_SECONDS = 60.0


def _now() -> float:
    return time.monotonic()


class SettledLeads:
    """Lead ids known to have left `new` in a committed transaction of this process."""

    def __init__(self, *, size: int = SETTLED_MAX, seconds: float = SETTLED_SECONDS) -> None:
        self._size = size
        self._seconds = seconds
        self._until: OrderedDict[int, float] = OrderedDict()
        self._lock = threading.Lock()  # a threads pool shares the process's memory

    def add(self, lead_ids: Iterable[int]) -> None:
        """Remember these leads (call once their transaction has committed)."""
        until = _now() + self._seconds
        with self._lock:
            for lead_id in lead_ids:
                self._until[lead_id] = until
                self._until.move_to_end(lead_id)
            while len(self._until) > self._size:
                self._until.popitem(last=False)

    def __contains__(self, lead_id: object) -> bool:
        with self._lock:
            until = self._until.get(lead_id)  # type: ignore[call-overload]
            if until is None:
                return False
            if until < _now():
                del self._until[lead_id]  # type: ignore[arg-type]
                return False
            return True

    def __len__(self) -> int:
        return len(self._until)

    def clear(self) -> None:
        with self._lock:
            self._until.clear()


#: This process's memory.
settled_leads = SettledLeads()


def _forget_on_new_connection(sender: Any, **kwargs: Any) -> None:
    settled_leads.clear()


connection_created.connect(_forget_on_new_connection, dispatch_uid="routing_settled_leads")

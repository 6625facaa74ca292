"""Publishing to the Celery broker without ever stalling the caller: a small circuit breaker.

Intake enqueues `route_lead` after each commit and services enqueue notifications. With the
broker down each publish would wait for the connection attempt; after one failure the breaker
opens and, for ROUTING_BROKER_BREAKER_SECONDS, publishes are skipped without trying: the lead is
saved all the same (route_pending routes what is left `new`). The first publish after the window
tries again (half-open) and closes the breaker if it gets through. Each failure in a row doubles
the window, up to ROUTING_BROKER_BREAKER_MAX_SECONDS: a broker that hangs rather than refuses
costs its probe the whole socket timeout (10 s), so a fixed 5 s window let nearly every request
stall (p50 12 s in the end-to-end trial with Redis stopped by SIGSTOP). State is per process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from kombu.exceptions import OperationalError as KombuOperationalError

logger = logging.getLogger(__name__)

#: What an unreachable broker raises (kombu wraps most; the rest are the socket's own).
BROKER_DOWN_ERRORS: tuple[type[BaseException], ...] = (KombuOperationalError, OSError)


def _now() -> float:
    return time.monotonic()


class BrokerBreaker:
    """Open for a while after a failed publish; publishes are skipped while it is open."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open_until = 0.0
        self._failures = 0

    @property
    def is_open(self) -> bool:
        return _now() < self._open_until

    def reset(self) -> None:
        with self._lock:
            self._open_until = 0.0
            self._failures = 0

    def window(self) -> float:
        """Seconds publishes are skipped after the latest failure (doubling with each in a row)."""
        base = float(settings.ROUTING_BROKER_BREAKER_SECONDS)
        ceiling = max(base, float(getattr(settings, "ROUTING_BROKER_BREAKER_MAX_SECONDS", base)))
        return min(ceiling, base * 2 ** max(0, min(self._failures - 1, 30)))

    def publish(self, send: Callable[[], Any], *, what: str) -> bool:
        """Call `send` unless the breaker is open; True when the message went out."""
        if self.is_open:
            logger.info("Broker unavailable (breaker open): %s not published", what)
            return False
        try:
            send()
        except BROKER_DOWN_ERRORS:
            with self._lock:
                self._failures += 1
                window = self.window()
                self._open_until = _now() + window
            logger.warning(
                "Broker unavailable: %s not published; skipping publishes for %ss",
                what,
                window,
                exc_info=True,
            )
            return False
        except Exception:
            # Not an outage (an eager task failing, a serialisation bug): logged, breaker shut.
            logger.exception("Publishing %s failed", what)
            return False
        if self._failures:
            self.reset()
        return True


#: The process's breaker, shared by every publisher.
broker_breaker = BrokerBreaker()


def broker_publish(send: Callable[[], Any], *, what: str) -> bool:
    """Publish through the process's breaker (see the module docstring)."""
    return broker_breaker.publish(send, what=what)


def task_enqueue(name: str, *args: Any) -> bool:
    """Enqueue the registered Celery task called `name`, through the breaker.

    A layer asks a task of a layer above it by name (routing asking notifications to dispatch
    the outbox): a message, not an import. The task object is Celery's own registered one, so
    eager mode and its retry options apply as if it had been imported.
    """
    from celery import current_app

    task = current_app.tasks[name]
    return broker_publish(lambda: task.apply_async(args, retry=False), what=f"{name}{args!r}")

"""The shared cache: Django's RedisCache, answering as an empty cache while Redis is away.

The cache holds the intake throttle's counters and briefly remembered roles. Both are worth
sharing between processes (a per-process throttle lets N web workers take N times the rate) and
neither is worth failing a request over: while Redis is unreachable every read is a miss and
every write is dropped, so intake keeps answering (unthrottled) and roles come from the database.
After a failure the cache is not tried again for a while (SKIP_SECONDS, doubling with each failure
in a row up to SKIP_MAX_SECONDS, per process): a Redis that hangs rather than refuses costs each
call the socket timeout, several calls per request (2 s a request in the end-to-end trial).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

#: Seconds between two warnings about an unreachable cache (one per request would flood logs).
WARN_EVERY_SECONDS = 30.0
_last_warning = [0.0]
#: After a failed call, skip the cache this long; doubled per failure in a row, up to the max.
SKIP_SECONDS = 5.0
SKIP_MAX_SECONDS = 30.0
#: per cache location (Django makes a backend instance per thread: the state is shared by them)
_skips: dict[tuple[str, ...], dict[str, float]] = {}
_skip_lock = threading.Lock()


def _now() -> float:
    return time.monotonic()


def cache_breaker_reset() -> None:
    """Try every cache again on its next call (tests)."""
    with _skip_lock:
        _skips.clear()


def _skip_of(cache: RedisCache) -> dict[str, float]:
    key = tuple(cache._servers)
    skip = _skips.get(key)
    if skip is None:
        with _skip_lock:
            skip = _skips.setdefault(key, {"until": 0.0, "failures": 0})
    return skip


def _fail_open(name: str, fallback: Callable[..., Any]) -> Callable[..., Any]:
    method = getattr(RedisCache, name)

    @functools.wraps(method)
    def call(self: RedisCache, *args: Any, **kwargs: Any) -> Any:
        skip = _skip_of(self)
        if _now() < skip["until"]:
            return fallback(*args, **kwargs)
        try:
            result = method(self, *args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            now = _now()
            with _skip_lock:
                skip["failures"] += 1
                window = min(SKIP_MAX_SECONDS, SKIP_SECONDS * 2 ** min(skip["failures"] - 1, 30))
                skip["until"] = now + window
            if now - _last_warning[0] > WARN_EVERY_SECONDS:
                _last_warning[0] = now
                logger.warning(
                    "Cache unreachable: %s answered as a miss; not tried again for %ss",
                    name,
                    window,
                    exc_info=True,
                )
            return fallback(*args, **kwargs)
        if skip["failures"]:
            with _skip_lock:
                skip.update(until=0.0, failures=0)
        return result

    return call


def _default(key: Any, default: Any = None, *args: Any, **kwargs: Any) -> Any:
    return default


def _nothing(*args: Any, **kwargs: Any) -> Any:
    return None


def _false(*args: Any, **kwargs: Any) -> bool:
    return False


def _empty(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {}


def _none_failed(data: Any, *args: Any, **kwargs: Any) -> list[Any]:
    return []


class SharedRedisCache(RedisCache):
    """Django's built-in RedisCache (CACHES["default"] when REDIS_URL is set), failing open."""

    get = _fail_open("get", _default)
    get_many = _fail_open("get_many", _empty)
    has_key = _fail_open("has_key", _false)
    add = _fail_open("add", _false)
    set = _fail_open("set", _nothing)
    set_many = _fail_open("set_many", _none_failed)
    touch = _fail_open("touch", _false)
    delete = _fail_open("delete", _false)
    delete_many = _fail_open("delete_many", _nothing)
    clear = _fail_open("clear", _false)

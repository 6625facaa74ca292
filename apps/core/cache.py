"""The shared cache: Django's RedisCache, answering as an empty cache while Redis is away.

The cache holds the intake throttle's counters and briefly remembered roles. Both are worth
sharing between processes (a per-process throttle lets N web workers take N times the rate) and
neither is worth failing a request over: while Redis is unreachable every read is a miss and
every write is dropped, so intake keeps answering (unthrottled) and roles come from the database.
"""

from __future__ import annotations

import functools
import logging
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


def _fail_open(name: str, fallback: Callable[..., Any]) -> Callable[..., Any]:
    method = getattr(RedisCache, name)

    @functools.wraps(method)
    def call(self: RedisCache, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            now = time.monotonic()
            if now - _last_warning[0] > WARN_EVERY_SECONDS:
                _last_warning[0] = now
                logger.warning("Cache unreachable: %s answered as a miss", name, exc_info=True)
            return fallback(*args, **kwargs)

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

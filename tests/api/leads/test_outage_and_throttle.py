"""Database and broker outages at the API (503 or 201 at once, nothing half-written) and the
intake rate limit (429), shared by every web process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, connection
from django.utils.module_loading import import_string
from rest_framework.throttling import ScopedRateThrottle

from apps.leads.models import Lead
from apps.routing.tasks import route_lead
from tests.factories import LeadFactory, RepFactory

pytestmark = pytest.mark.django_db

URL = "/api/leads/"


def database_down():  # type: ignore[no-untyped-def]
    return mock.patch.object(
        connection, "cursor", side_effect=OperationalError("could not connect to server")
    )


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("get", "", None),
        ("post", "", {"email": "a@b.com"}),
        ("get", "{id}/", None),
        ("get", "{id}/assignments/", None),
        ("get", "{id}/activity/", None),
        ("post", "{id}/contact/", {}),
        ("post", "{id}/convert/", {"reason": "x"}),
    ],
)
def test_database_down_is_503_not_500(manager_client, method, path, payload):
    lead = LeadFactory(owner=RepFactory(), status="assigned")
    with database_down(), mock.patch.object(route_lead, "apply_async") as send:
        response = getattr(manager_client, method)(
            URL + path.format(id=lead.pk), payload, format="json"
        )
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "database is unavailable" in response.json()["detail"]
    send.assert_not_called()
    assert Lead.objects.count() == 1
    assert Lead.objects.get().status == "assigned"


def test_database_down_with_token_auth_is_503(rita_client):
    with database_down():
        response = rita_client.get(URL)
    assert response.status_code == 503


@pytest.fixture
def tiny_intake_rate():  # type: ignore[no-untyped-def]
    # DRF binds the rates when the throttle class is imported, so overriding settings is not enough.
    cache.clear()
    with mock.patch.dict(ScopedRateThrottle.THROTTLE_RATES, {"intake": "3/min"}):
        yield
    cache.clear()


def test_intake_over_the_rate_is_429(
    manager_client, tiny_intake_rate, django_capture_on_commit_callbacks
):
    with (
        mock.patch.object(route_lead, "apply_async"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        codes = [
            manager_client.post(URL, {"email": f"l{i}@b.com"}, format="json").status_code
            for i in range(5)
        ]
    assert codes == [201, 201, 201, 429, 429]
    assert Lead.objects.count() == 3
    refused = manager_client.post(URL, {"email": "x@b.com"}, format="json")
    assert "Retry-After" in refused
    # Reads are not throttled by the intake scope.
    assert manager_client.get(URL).status_code == 200


# The intake throttle is shared by every web process (the cache is on Redis) -------------------

BASE_DIR = Path(__file__).resolve().parents[2]


def settings_in_a_fresh_process(tmp_path, code: str, **env: str) -> str:  # type: ignore[no-untyped-def]
    """Run `code` in a new Python process with Django set up from these environment values."""
    clean = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "REDIS_CACHE_URL"}}
    clean.update(DJANGO_SETTINGS_MODULE="routing_portal.settings", ROUTING_VAR_DIR=str(tmp_path))
    clean.update(env)
    script = "import django; django.setup()\n" + code
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=clean,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_settings_put_the_cache_on_redis_when_redis_url_is_set(tmp_path):
    show = "from django.conf import settings; c = settings.CACHES['default']\n"
    show += "print(c['BACKEND'], c.get('LOCATION', ''))"
    on_redis = settings_in_a_fresh_process(tmp_path, show, REDIS_URL="redis://127.0.0.1:6379/3")
    # Its own database: clearing the cache must never flush the broker's queues.
    assert on_redis == "apps.core.cache.SharedRedisCache redis://127.0.0.1:6379/11"
    chosen = settings_in_a_fresh_process(
        tmp_path,
        show,
        REDIS_URL="redis://127.0.0.1:6379/3",
        REDIS_CACHE_URL="redis://cache.internal:6379/0",
    )
    assert chosen == "apps.core.cache.SharedRedisCache redis://cache.internal:6379/0"
    without = settings_in_a_fresh_process(tmp_path, show)
    assert without.startswith("django.core.cache.backends.locmem.LocMemCache")


@pytest.mark.redis
def test_another_process_sees_the_same_throttle_count(
    manager_client, manager_user, tiny_intake_rate, django_capture_on_commit_callbacks, tmp_path
):
    with (
        mock.patch.object(route_lead, "apply_async"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        for i in range(2):
            assert (
                manager_client.post(URL, {"email": f"l{i}@b.com"}, format="json").status_code == 201
            )
    # A second web process reads the same history for this user.
    count = settings_in_a_fresh_process(
        tmp_path,
        "from django.core.cache import cache\n"
        f"print(len(cache.get('throttle_intake_{manager_user.pk}', [])))",
        REDIS_URL=settings.REDIS_URL,
    )
    assert count == "2"


@pytest.mark.redis
def test_two_cache_clients_share_one_limit(
    manager_client, tiny_intake_rate, django_capture_on_commit_callbacks
):
    from django.core.cache.backends.redis import RedisCache

    def own_client():  # type: ignore[no-untyped-def]
        # What another web process builds from the same settings: its own connection pool.
        config = settings.CACHES["default"]
        backend = import_string(config["BACKEND"])
        params = {k.lower(): v for k, v in config.items() if k not in {"BACKEND", "LOCATION"}}
        return backend(config["LOCATION"], params)

    first, second = own_client(), own_client()
    assert isinstance(first, RedisCache)
    assert first._cache.get_client() is not second._cache.get_client()

    def post_through(client_cache, email):  # type: ignore[no-untyped-def]
        with mock.patch.object(ScopedRateThrottle, "cache", client_cache):
            return manager_client.post(URL, {"email": email}, format="json").status_code

    with (
        mock.patch.object(route_lead, "apply_async"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        codes = [post_through(first, "a@b.com"), post_through(second, "b@b.com")]
        codes += [post_through(first, "c@b.com"), post_through(second, "d@b.com")]
    assert codes == [201, 201, 201, 429]


@pytest.mark.redis
def test_an_unreachable_cache_never_fails_intake(
    manager_client, tiny_intake_rate, django_capture_on_commit_callbacks
):
    from apps.core.cache import SharedRedisCache

    away = SharedRedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 0.5}})
    with (
        mock.patch.object(ScopedRateThrottle, "cache", away),
        mock.patch.object(route_lead, "apply_async"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = manager_client.post(URL, {"email": "a@b.com"}, format="json")
    assert response.status_code == 201


# A broker outage never stalls intake -------------------------------------------------------------


@pytest.fixture
def broker_at_a_closed_port():  # type: ignore[no-untyped-def]
    """The Celery app publishes to a Redis port nothing listens on (with the real settings'
    transport options), as during a broker outage."""
    from routing_portal.celery import app

    saved = app.conf.broker_url, app._pool, app.amqp._producer_pool
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    app._pool, app.amqp._producer_pool = None, None
    yield
    if app._pool is not None:
        app._pool.force_close_all()
    app.conf.broker_url, app._pool, app.amqp._producer_pool = saved


@pytest.fixture
def connection_attempts():  # type: ignore[no-untyped-def]
    """Count the Redis client's connection attempts to the closed port (the cache's are not)."""
    import redis.connection

    original = redis.connection.AbstractConnection.connect
    attempts: list[int] = []

    def connect(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if getattr(self, "port", None) == 1:
            attempts.append(1)
        return original(self, *args, **kwargs)

    with mock.patch.object(redis.connection.AbstractConnection, "connect", connect):
        yield attempts


@pytest.mark.redis
def test_broker_outage_answers_201_and_the_breaker_skips_publishing(
    manager_client,
    broker_at_a_closed_port,
    connection_attempts,
    django_capture_on_commit_callbacks,
    settings,
):
    from apps.core import broker

    settings.ROUTING_BROKER_BREAKER_SECONDS = 5
    clock = [1000.0]

    def intake(email):  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            return manager_client.post(URL, {"email": email}, format="json").status_code

    with (
        mock.patch.object(route_lead, "apply_async", wraps=route_lead.apply_async) as sent,
        mock.patch.object(broker, "_now", lambda: clock[0]),
    ):
        # The first lead tries the broker once: one connection attempt, no hidden retries.
        assert intake("first@b.com") == 201
        assert (sent.call_count, len(connection_attempts)) == (1, 1)
        assert broker.broker_breaker.is_open
        # While the breaker is open, a lead is saved without even trying to publish.
        clock[0] += 4.9
        assert intake("second@b.com") == 201
        assert (sent.call_count, len(connection_attempts)) == (1, 1)
        # After the window the next publish tries again (and, still refused, reopens it).
        clock[0] += 0.2
        assert intake("third@b.com") == 201
        assert (sent.call_count, len(connection_attempts)) == (2, 2)
    assert list(Lead.objects.values_list("status", flat=True)) == ["new", "new", "new"]


def test_broker_settings_fail_fast_and_workers_reconnect_forever():
    from routing_portal.celery import app

    assert app.conf.broker_connection_retry_on_startup is True
    assert app.conf.broker_connection_max_retries is None
    assert app.conf.task_publish_retry is False
    if settings.CELERY_BROKER_URL.startswith("redis"):
        options = app.conf.broker_transport_options
        assert options["max_retries"] == 0
        assert options["socket_connect_timeout"] <= 2


def test_a_successful_publish_closes_the_breaker(settings):  # type: ignore[no-untyped-def]
    from kombu.exceptions import OperationalError as BrokerDown

    from apps.core.broker import BrokerBreaker

    breaker, clock, sends = BrokerBreaker(), [0.0], []
    settings.ROUTING_BROKER_BREAKER_SECONDS = 5

    def down():  # type: ignore[no-untyped-def]
        sends.append("down")
        raise BrokerDown("refused")

    with mock.patch("apps.core.broker._now", lambda: clock[0]):
        assert breaker.publish(down, what="x") is False
        assert breaker.publish(lambda: sends.append("skipped?"), what="x") is False
        clock[0] = 6
        assert breaker.publish(lambda: sends.append("up"), what="x") is True
        assert breaker.publish(lambda: sends.append("up"), what="x") is True
    assert sends == ["down", "up", "up"]


# A broker or cache that hangs (accepts, never answers) costs each try its whole socket timeout:
# a fixed 5 s breaker let nearly every intake request stall 12 s in the end-to-end trial (Redis
# stopped with SIGSTOP). Each failure in a row doubles the skip window, up to a ceiling.


def test_a_broker_that_stays_down_is_tried_less_and_less(settings):  # type: ignore[no-untyped-def]
    from kombu.exceptions import OperationalError as BrokerDown

    from apps.core.broker import BrokerBreaker

    breaker, clock, sends = BrokerBreaker(), [0.0], []
    settings.ROUTING_BROKER_BREAKER_SECONDS = 5
    settings.ROUTING_BROKER_BREAKER_MAX_SECONDS = 30

    def down():  # type: ignore[no-untyped-def]
        sends.append(clock[0])
        raise BrokerDown("timed out")

    with mock.patch("apps.core.broker._now", lambda: clock[0]):
        for at in (0, 4, 5.1, 14, 15.2, 34, 35.3, 60, 65.4, 90, 95.5):
            clock[0] = at
            assert breaker.publish(down, what="x") is False
        # Tried after 5, 10, 20, 30 and 30 s: not at 4, 14, 34, 60 or 90.
        assert sends == [0, 5.1, 15.2, 35.3, 65.4, 95.5]
        clock[0] = 126
        assert breaker.publish(lambda: sends.append("up"), what="x") is True
        # Back up: the next outage starts again at the short window.
        assert breaker.publish(down, what="x") is False
        clock[0] = 131.1
        assert breaker.publish(lambda: sends.append("up again"), what="x") is True
    assert sends[-3:] == ["up", 126, "up again"]


def test_a_hung_cache_is_skipped_for_a_while_not_waited_on_per_call():
    from django.core.cache.backends.redis import RedisCacheClient
    from redis.exceptions import TimeoutError as RedisTimeout

    from apps.core import cache as shared

    hung = shared.SharedRedisCache("redis://127.0.0.1:6379/14", {})
    clock = [100.0]
    with (
        mock.patch.object(RedisCacheClient, "get", side_effect=RedisTimeout("Timeout reading")),
        mock.patch.object(RedisCacheClient, "set", side_effect=RedisTimeout("Timeout reading")),
        mock.patch.object(shared, "_now", lambda: clock[0], create=True),
    ):
        # One request's throttle and role lookups: only the first waits on the hung server.
        assert hung.get("throttle", []) == []
        hung.set("throttle", [1])
        assert hung.get("role", "miss") == "miss"
        assert RedisCacheClient.get.call_count + RedisCacheClient.set.call_count == 1
        clock[0] += 5.1  # tried again after the window, and still hung: the next one is longer
        assert hung.get("throttle", []) == []
        clock[0] += 9.9
        assert hung.get("throttle", []) == []
        assert RedisCacheClient.get.call_count == 2
    with (
        mock.patch.object(RedisCacheClient, "get", return_value="cached"),
        mock.patch.object(shared, "_now", lambda: clock[0] + 0.2, create=True),
    ):
        assert hung.get("role") == "cached"  # back: answered, and the skipping is over
        assert hung.get("role") == "cached"
        assert RedisCacheClient.get.call_count == 2

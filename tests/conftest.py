"""Suite-wide fixtures: service markers, a clean routing cache, role users."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

REQUIRE_SERVICES = os.environ.get("ROUTING_REQUIRE_SERVICES") == "1"


def _uses_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _uses_redis() -> bool:
    return settings.CELERY_BROKER_URL.startswith("redis")


def _django_configured() -> bool:
    # The pure engine tests also run without pytest-django (`-p no:django`).
    return bool(settings.configured)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _django_configured():
        return
    missing = {
        "postgres": None
        if _uses_postgres()
        else "needs PostgreSQL: set DATABASE_URL=postgres://...",
        "redis": None if _uses_redis() else "needs a Redis broker: set REDIS_URL=redis://...",
    }
    for item in items:
        for marker, reason in missing.items():
            if reason and item.get_closest_marker(marker):
                if REQUIRE_SERVICES:
                    # In CI nothing may skip: a missing service is a failure, loudly.
                    item.add_marker(pytest.mark.xfail(reason=reason, run=False, strict=True))
                else:
                    item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session", autouse=True)
def _collected_static(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Static files as deployed: collected, hashed and compressed into a scratch STATIC_ROOT.

    With DEBUG off, pages name their CSS and JS through the collected manifest, as in production.
    """
    if not _django_configured():
        yield None
        return
    from django.core.management import call_command
    from django.test import override_settings

    root = tmp_path_factory.mktemp("staticfiles")
    with override_settings(STATIC_ROOT=root):
        call_command("collectstatic", interactive=False, verbosity=0)
        yield root


@pytest.fixture(autouse=True)
def _fresh_routing_cache() -> None:
    if not _django_configured():
        return
    # Tests change the configuration and route at once: check for changes on every decision.
    settings.ROUTING_CONFIG_RECHECK_SECONDS = 0
    from django.core.cache import cache

    from apps.core.cache import cache_breaker_reset

    cache_breaker_reset()  # a test that made the cache fail must not make the next one skip it
    cache.clear()  # cached roles: ids repeat across tests on SQLite
    from apps.routing.selectors import config_cache_clear

    config_cache_clear()
    from apps.core.broker import broker_breaker

    broker_breaker.reset()  # a test that made publishing fail must not silence the next one
    from apps.routing.settled import settled_leads

    settled_leads.clear()  # leads a test routed: ids repeat across tests on SQLite


@pytest.fixture(autouse=True)
def _local_webhook_receivers() -> None:
    if not _django_configured():
        return
    # Tests receive webhooks on 127.0.0.1; the tests of the address guard turn it off again.
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def manager_user(db):  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    user = UserFactory(username="manager", is_staff=True)
    user.groups.add(Group.objects.get(name="RevOps managers"))
    return user


@pytest.fixture
def boss(db):  # type: ignore[no-untyped-def]
    """A manager with no rep of their own."""
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    user = UserFactory(username="boss", is_staff=True)
    user.groups.add(Group.objects.get(name="RevOps managers"))
    return user


@pytest.fixture
def webform(db):  # type: ignore[no-untyped-def]
    """An integration account: may submit leads through the API, and nothing else."""
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    user = UserFactory(username="webform")
    user.user_permissions.add(
        Permission.objects.get(codename="add_lead", content_type__app_label="leads")
    )
    return user


@pytest.fixture
def manager_client(manager_user):  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(manager_user)
    return client


@pytest.fixture
def west_org(db):  # type: ignore[no-untyped-def]
    """AMER > US-WEST with three reps and two rules (enterprise round robin, catch-all)."""
    from tests.factories import RepFactory, RuleFactory, TerritoryFactory, UserFactory

    amer = TerritoryFactory(code="AMER", name="Americas", countries=["US", "CA"])
    west = TerritoryFactory(code="US-WEST", name="US West", parent=amer, regions=["US-CA", "US-WA"])
    reps = [
        RepFactory(
            user=UserFactory(username=name), territories=[west], time_zone="America/Los_Angeles"
        )
        for name in ("alice", "bob", "carol")
    ]
    enterprise = RuleFactory(
        name="Enterprise West",
        position=0,
        conditions=[
            {"field": "company_size", "op": "gte", "value": 1000},
            {"field": "territory", "op": "within", "value": "US-WEST"},
        ],
        target={"territory": "US-WEST"},
        strategy="round_robin",
        sla_minutes=30,
    )
    everyone = RuleFactory(
        name="Everyone else", position=1, target={"territory": "$lead"}, strategy="load_balanced"
    )
    return {
        "amer": amer,
        "west": west,
        "reps": reps,
        "enterprise": enterprise,
        "everyone": everyone,
    }


@pytest.fixture
def eager_tasks():  # type: ignore[no-untyped-def]
    """Run Celery tasks in-process (on-commit hooks included when captured with execute=True)."""
    from routing_portal.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def live_worker():  # type: ignore[no-untyped-def]
    """Start a real Celery worker (threads, on the configured broker) for the given queues.

    Each task closes its thread's database connections when it ends: the worker's threads
    would otherwise keep sessions open on the test database past its teardown.
    """
    from contextlib import contextmanager

    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun
    from django.db import connections

    from routing_portal.celery import app

    def close_connections(**kwargs: object) -> None:
        connections.close_all()

    @contextmanager
    def running(*queues: str):  # type: ignore[no-untyped-def]
        app.control.purge()
        task_postrun.connect(close_connections, weak=False)
        try:
            with start_worker(
                app,
                pool="threads",
                concurrency=2,
                perform_ping_check=False,
                queues=list(queues),
                shutdown_timeout=15,
            ):
                yield
        finally:
            task_postrun.disconnect(close_connections)

    return running

"""Fixtures of the fault tests: the portal's real processes on a private Redis and a cuttable
proxy in front of the test database (committed data: transactional tests)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.db import connection

from tests.faults.harness import Portal, RedisServer, TcpProxy


@pytest.fixture
def faults_portal(transactional_db, west_org, tmp_path: Path):  # type: ignore[no-untyped-def]
    if shutil.which("redis-server") is None:
        pytest.fail("the fault tests need redis-server on PATH")
    redis = RedisServer()
    redis.start()
    db = connection.settings_dict
    proxy = TcpProxy(int(db["PORT"] or 5432))
    user = db["USER"] or "postgres"
    database_url = f"postgres://{user}@127.0.0.1:{proxy.port}/{db['NAME']}"
    portal = Portal(database_url=database_url, broker_url=redis.url, var_dir=tmp_path)
    portal.redis = redis  # type: ignore[attr-defined]
    portal.proxy = proxy  # type: ignore[attr-defined]
    try:
        yield portal
    finally:
        portal.stop()
        proxy.close()
        redis.stop()

"""Fixtures of the routing tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from apps.routing import writers

#: Parametrize a test over both write back-ends; the statements are PostgreSQL's own SQL.
WRITER_PATHS = [
    pytest.param(True, marks=pytest.mark.postgres, id="one-statement"),
    pytest.param(False, id="orm"),
]


@pytest.fixture
def pin_writers(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    """Write through the PostgreSQL statements (True) or the ORM (False), whatever the database
    (writers.writers_current() otherwise picks by vendor)."""

    def pin(single_statement: bool) -> None:
        chosen = writers.POSTGRES_WRITERS if single_statement else writers.ORM_WRITERS
        monkeypatch.setattr(writers, "PINNED", chosen)

    return pin

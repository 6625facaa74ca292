"""Database expressions shared by the apps (and by the indexes that serve them).

``Seconds`` is ``end - start`` in seconds, written so that PostgreSQL can index it (an immutable
expression): the leads' response-time indexes and the dashboards' queries compile it the same
way, so the planner matches one to the other.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, FloatField, Func

__all__ = ["Seconds", "seconds_between"]


class Seconds(Func):
    """``end - start`` in seconds (a float); NULL when either is NULL."""

    output_field = FloatField()
    arity = 2

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            # date_part gives a float directly; EXTRACT's numeric halves the speed of the sorts.
            template="date_part('epoch', %(expressions)s)",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            # Rounded to the millisecond: julianday's float would put 300 s at 299.99996.
            template="ROUND((julianday(%(expressions)s)) * 86400.0, 3)",
            arg_joiner=") - julianday(",
            **extra,
        )


def seconds_between(end: str, start: str) -> Seconds:
    return Seconds(F(end), F(start))

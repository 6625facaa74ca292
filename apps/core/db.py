"""Database expressions the read side (dashboards, audit) aggregates with: seconds between two
timestamps and a continuous percentile, native on PostgreSQL and registered as an aggregate on SQLite.

PostgreSQL computes ``percentile_cont(p) WITHIN GROUP (ORDER BY x)``. SQLite has no percentile
aggregate, so, as Django itself does for STDDEV and VARIANCE on SQLite, one is registered on each
new connection; it interpolates between the closest ranks exactly as percentile_cont does.

``Seconds`` is written so that PostgreSQL can index it (an immutable expression): the leads'
response-time indexes and the dashboards' queries compile it the same way, so the planner matches
one to the other.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections, transaction
from django.db.models import Aggregate, Expression, F, FloatField, Func, IntegerField

__all__ = [
    "RESPONSE_BUCKETS_PER_GROUP",
    "RESPONSE_BUCKET_BOUNDS",
    "PercentileCont",
    "ResponseBucket",
    "ResponseBucketGroup",
    "Seconds",
    "percentile_cont",
    "read_side_cursor",
    "read_side_planning",
    "response_bucket_sql",
    "seconds_between",
    "sqlite_register_functions",
]

SQLITE_PERCENTILE = "rp_percentile_cont"


class Seconds(Func):
    """``end - start`` in seconds (a float); NULL when either is NULL."""

    output_field = FloatField()
    arity = 2
    # date_part gives a float directly; EXTRACT's numeric halves the speed of the sorts.
    postgres_template = "date_part('epoch', %(expressions)s)"

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template=self.postgres_template,
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


def _bucket_bounds() -> tuple[float, ...]:
    """0 s, 1 s, then eight bounds per factor of e (each bucket about 13% wide) up to 40 days,
    with the response-time histogram's own bounds (5, 15 and 60 min, 4 and 24 h) among them, so
    each of its bars is a sum of whole buckets."""
    bounds = {0.0, 1.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0}
    step = 1
    while (value := round(math.exp(step / 8), 3)) < 40 * 86400:
        if value > 1:
            bounds.add(value)
        step += 1
    return tuple(sorted(bounds))


#: The lower bounds of ResponseBucket's buckets, in seconds, ascending. The leads' indexes hold the
#: buckets: changing these needs a migration that builds those indexes again, under new names.
RESPONSE_BUCKET_BOUNDS: tuple[float, ...] = _bucket_bounds()


class _PostgresTransform(Func):
    """A one-argument integer expression PostgreSQL computes by ``postgres_template``; on
    SQLite the argument itself (ordered the same way, which is all the SQLite paths need: they
    never compare it to a number)."""

    output_field = IntegerField()
    arity = 1
    postgres_template = "%(expressions)s"

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template=self.postgres_template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="%(expressions)s", **extra)


class ResponseBucket(_PostgresTransform):
    """The bucket of a response time in seconds: 0 below ``RESPONSE_BUCKET_BOUNDS[0]``, else
    ``i`` for ``RESPONSE_BUCKET_BOUNDS[i - 1] <= seconds < RESPONSE_BUCKET_BOUNDS[i]`` (the
    last bucket open-ended); NULL for NULL. It never decreases as the seconds grow, so a rank
    among the seconds is a rank within one bucket once the buckets before it are counted
    (apps/dashboards/speed.py). The leads' indexes hold it, so counting by bucket reads it back
    from the index instead of computing it for each lead.

    On SQLite it is the seconds themselves: as ordered, and the SQLite path needs no buckets.
    """

    postgres_template = (
        "width_bucket(%(expressions)s, ARRAY["
        + ", ".join(repr(bound) for bound in RESPONSE_BUCKET_BOUNDS)
        + "]::double precision[])"
    )


def response_bucket_sql(end: str, start: str) -> str:
    """ResponseBucket(Seconds(end, start)) as PostgreSQL SQL over two column references, for
    statements the ORM does not write (the dashboards' maintained counts): the same templates,
    so the same buckets as the indexes'."""
    seconds = Seconds.postgres_template % {"expressions": f"{end} - {start}"}
    return ResponseBucket.postgres_template % {"expressions": seconds}


#: Buckets per ResponseBucketGroup (eight: a factor of e).
RESPONSE_BUCKETS_PER_GROUP = 8


class ResponseBucketGroup(_PostgresTransform):
    """A ResponseBucket's group: ``RESPONSE_BUCKETS_PER_GROUP`` consecutive buckets (as ordered
    as the buckets). Counting a day's leads takes one index range per group, not per bucket.
    On SQLite, as ResponseBucket, the value itself."""

    postgres_template = f"(%(expressions)s / {RESPONSE_BUCKETS_PER_GROUP})"


#: PostgreSQL planner settings for the read side's aggregate statements, for their transaction
#: only (``read_side_planning``).
READ_SIDE_PLANNING = {
    # JIT compiling costs more than it saves on these statements (~40 ms of ~200 at a million
    # leads; 4 s for one correlated EXISTS).
    "jit": "off",
    # The default (4) prices each index page as a disk seek; the dashboards read indexes that
    # are in memory (or on SSD, where PostgreSQL's own advice is 1.1). At 4, the planner's choice
    # between a covering index a quarter of the table's size and the table itself came down to
    # estimates 1% apart, and flipped with each ANALYZE (conversion: 1.06x the reference with the
    # index, 1.6x with the table, at a million leads).
    "random_page_cost": "1.1",
}


def read_side_planning(cursor: Any) -> None:
    """Apply READ_SIDE_PLANNING to the current transaction (PostgreSQL; call inside one)."""
    settings = ", ".join(["set_config(%s, %s, true)"] * len(READ_SIDE_PLANNING))
    cursor.execute(f"SELECT {settings}", [v for item in READ_SIDE_PLANNING.items() for v in item])


@contextmanager
def read_side_cursor(using: str = "default") -> Iterator[Any]:
    """A cursor for one read-side aggregate statement: on PostgreSQL inside a transaction (a
    savepoint within a caller's) with READ_SIDE_PLANNING applied; elsewhere a plain cursor."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    with transaction.atomic(using=using), connection.cursor() as cursor:
        read_side_planning(cursor)
        yield cursor


class PercentileCont(Aggregate):
    """The continuous ``fraction`` percentile of ``expression`` (NULLs ignored, NULL if none)."""

    function = "percentile_cont"
    name = "PercentileCont"
    output_field = FloatField()
    allow_distinct = False

    def __init__(self, expression: Expression | str, fraction: float, **extra: Any) -> None:
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("fraction must lie between 0 and 1")
        self.fraction = float(fraction)
        super().__init__(expression, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template=f"%(function)s({self.fraction!r}) WITHIN GROUP (ORDER BY %(expressions)s)",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            function=SQLITE_PERCENTILE,
            template=f"%(function)s(%(expressions)s, {self.fraction!r})",
            **extra,
        )


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """percentile_cont over ``values`` as PostgreSQL defines it (linear between ranks)."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class _SqlitePercentile:
    """The SQLite aggregate behind PercentileCont (collects one group's values, then ranks)."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value: float | None, fraction: float) -> None:
        self.fraction = fraction
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> float | None:
        return percentile_cont(self.values, self.fraction)


def sqlite_register_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Give each new SQLite connection the percentile aggregate."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate(SQLITE_PERCENTILE, 2, _SqlitePercentile)

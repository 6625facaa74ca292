"""Moved to :mod:`apps.core.db` (the audit aggregates with them too); kept so imports of the
old path keep working until every caller uses the new one."""

from apps.core.db import PercentileCont, Seconds, percentile_cont, seconds_between

__all__ = ["PercentileCont", "Seconds", "percentile_cont", "seconds_between"]

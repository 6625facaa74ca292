"""Moved to :mod:`apps.core.access` (the audit pages use it too); kept so imports of the old
path keep working until every caller uses the new one."""

from apps.core.access import manager_page

__all__ = ["manager_page"]

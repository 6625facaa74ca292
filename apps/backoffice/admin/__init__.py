"""The Django admin of the portal, one module per area; importing this registers them all."""

from . import (  # noqa: F401
    accounts,
    internals,
    lead_imports,
    leads,
    notifications,
    reps,
    routing,
    rules,
    territories,
    users,
)

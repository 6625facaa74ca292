"""Errors every layer may raise and every edge knows how to answer."""

from __future__ import annotations

__all__ = ["StateConflict"]


class StateConflict(Exception):
    """An action that does not fit the object's current state (the API answers 409).

    Services raise subclasses (a lead already closed, moved a moment ago, nobody eligible for a
    manual pick); the edges map this one class, so core needs to know none of them.
    """

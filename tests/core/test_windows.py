"""Date windows shared by the dashboards and the audit: presets, named quarters, dates."""

from __future__ import annotations

from datetime import date

import pytest

from apps.core.windows import (
    DateWindow,
    preset_window,
    quarter_names,
    quarter_window,
    window_choose,
    window_problem,
)

TODAY = date(2026, 2, 14)


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        ("this_quarter", date(2026, 1, 1), TODAY),
        ("last_quarter", date(2025, 10, 1), date(2025, 12, 31)),
        ("7d", date(2026, 2, 8), TODAY),
        ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31)),
        ("2024-Q2", date(2024, 4, 1), date(2024, 6, 30)),
        ("2024-Q4", date(2024, 10, 1), date(2024, 12, 31)),
    ],
)
def test_presets(preset: str, start: date, end: date) -> None:
    assert preset_window(preset, today=TODAY) == DateWindow(start=start, end=end)


def test_quarter_names_count_back_from_the_last_whole_quarter() -> None:
    assert quarter_names(today=TODAY, count=3) == ["2025-Q4", "2025-Q3", "2025-Q2"]
    assert quarter_window("2025-Q5") is None and quarter_window("Q1") is None


def test_window_choose_and_problems() -> None:
    assert window_choose(
        preset=None, start=None, end=None, today=TODAY, default="last_quarter"
    ) == (DateWindow(start=date(2025, 10, 1), end=date(2025, 12, 31)))
    assert window_choose(
        preset=None, start=date(2026, 1, 1), end=None, today=TODAY, default="30d"
    ) == DateWindow(start=date(2026, 1, 1), end=TODAY)
    assert window_choose(
        preset=None, start=None, end=date(2026, 1, 30), today=TODAY, default="30d"
    ) == DateWindow(start=date(2026, 1, 1), end=date(2026, 1, 30))
    assert window_problem(date(2026, 2, 1), date(2026, 1, 1)) is not None
    assert window_problem(date(2024, 1, 1), date(2026, 1, 1)) is not None
    assert window_problem(date(2026, 1, 1), date(2026, 3, 31)) is None

"""gc_batch_thresholds: relaxed inside the block, the previous thresholds back after it."""

from __future__ import annotations

import gc

import pytest

from apps.core.gc_tuning import BATCH_THRESHOLDS, gc_batch_thresholds


def test_the_thresholds_are_relaxed_inside_and_restored_after_even_on_error() -> None:
    before = gc.get_threshold()
    with gc_batch_thresholds():
        assert gc.get_threshold() == BATCH_THRESHOLDS
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), gc_batch_thresholds():
        raise RuntimeError
    assert gc.get_threshold() == before


def test_an_import_runs_with_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.routing import lead_import

    seen: list[tuple[int, int, int]] = []
    monkeypatch.setattr(lead_import, "csv_rows_open", lambda _open: _Stop(seen))
    with pytest.raises(_Stopped):
        lead_import.leads_import(open_binary=lambda: None, dry_run=True)  # type: ignore[arg-type,return-value]
    assert seen == [BATCH_THRESHOLDS]


class _Stopped(Exception):
    pass


class _Stop:
    def __init__(self, seen: list[tuple[int, int, int]]) -> None:
        self.seen = seen

    def __enter__(self) -> None:
        self.seen.append(gc.get_threshold())
        raise _Stopped

    def __exit__(self, *exc: object) -> None:
        return None

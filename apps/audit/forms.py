"""The audit's inputs: the window (a quarter preset or dates, in the URL), a sign-off, a diff
between two versions, a restore. Shared by the pages and the API, so both refuse the same
input with the same words."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from apps.core.windows import (
    QUARTER_PRESETS,
    DateWindow,
    quarter_names,
    quarter_window,
    window_choose,
    window_problem,
)

__all__ = ["DEFAULT_PRESET", "AuditWindowForm", "RestoreForm", "SignOffForm", "VersionDiffForm"]

#: The review at the end of a quarter looks back at the quarter that just ended.
DEFAULT_PRESET = "last_quarter"
MAX_NOTES = 5000
#: Named past quarters the period menu offers (any "YYYY-Qn" is accepted).
NAMED_QUARTERS = 8


class _WindowMixin:
    def _window_clean(self, data: dict[str, Any]) -> dict[str, Any]:
        problem = window_problem(data.get("start"), data.get("end"))
        if problem:
            # Named on the end date, so an API caller is told which field to change.
            self.add_error("end", problem)  # type: ignore[attr-defined]
        return data


class AuditWindowForm(_WindowMixin, forms.Form):
    """``?preset=last_quarter`` (or ``this_quarter``), or ``?start=&end=``; none: last quarter."""

    # A named calendar quarter ("2026-Q1") too: the page offers the last eight.
    preset = forms.CharField(required=False, label="Period", widget=forms.Select)
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    format = forms.ChoiceField(choices=[("json", "JSON"), ("csv", "CSV")], required=False)

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        if data is not None and not any(data.get(key) for key in ("preset", "start", "end")):
            data = data.copy()
            data["preset"] = DEFAULT_PRESET
        super().__init__(data, *args, **kwargs)
        named = [(name, name.replace("-", " ")) for name in quarter_names(
            today=timezone.localdate(), count=NAMED_QUARTERS)]  # fmt: skip
        self.fields["preset"].widget.choices = [("", "Custom dates"), *QUARTER_PRESETS, *named]

    def clean_preset(self) -> str:
        preset: str = self.cleaned_data.get("preset") or ""
        if preset and preset not in dict(QUARTER_PRESETS) and quarter_window(preset) is None:
            names = ", ".join(dict(QUARTER_PRESETS))
            raise forms.ValidationError(
                f"'{preset}' is not a period; use {names} or a quarter such as 2026-Q1."
            )
        return preset

    def clean(self) -> dict[str, Any]:
        return self._window_clean(super().clean() or {})

    @property
    def window(self) -> DateWindow:
        """The chosen days (in the current zone). Call after is_valid()."""
        data = self.cleaned_data
        return window_choose(
            preset=data.get("preset"),
            start=data.get("start"),
            end=data.get("end"),
            today=timezone.localdate(),
            default=DEFAULT_PRESET,
        )


class SignOffForm(_WindowMixin, forms.Form):
    """A manager's "reviewed, with these notes" for the window the page shows."""

    start = forms.DateField(widget=forms.HiddenInput)
    end = forms.DateField(widget=forms.HiddenInput)
    notes = forms.CharField(
        required=False,
        max_length=MAX_NOTES,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What was reviewed, what to change. Read-only once signed.",
    )

    def clean(self) -> dict[str, Any]:
        return self._window_clean(super().clean() or {})

    @property
    def window(self) -> DateWindow:
        return DateWindow(start=self.cleaned_data["start"], end=self.cleaned_data["end"])


class VersionDiffForm(forms.Form):
    """Two version numbers: ``from`` (older) and ``to``; ``to`` defaults to the current one."""

    # "from" is a Python keyword: the field is named in the form's data, read via cleaned_data.
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from"] = forms.IntegerField(min_value=1)
        self.fields["to"] = forms.IntegerField(min_value=1, required=False)


class RestoreForm(forms.Form):
    """Restore needs the version the page (or caller) was looking at as current."""

    based_on_version = forms.IntegerField(min_value=0)

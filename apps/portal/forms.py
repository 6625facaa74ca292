"""Forms of the pages. They validate input only; the services decide what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

from apps.reps.models import TIME_OFF_NOTE_MAX, Rep, TimeOffReason

__all__ = [
    "AwayForm",
    "BulkRerouteForm",
    "CloseForm",
    "ContactForm",
    "PortalAuthenticationForm",
    "PortalPasswordResetForm",
    "ReassignForm",
    "TimeOffForm",
    "WorkingHoursForm",
]

NOTE_MAX = 10_000


class PortalAuthenticationForm(AuthenticationForm):
    """Django's sign-in form with the browser hints a phone needs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update(
            {"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        )
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class PortalPasswordResetForm(PasswordResetForm):
    """Django's reset form; the mail it sends is the portal's (templates/portal/)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update({"autocomplete": "email"})


class ContactForm(forms.Form):
    note = forms.CharField(
        label="Note", required=False, max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )


class CloseForm(forms.Form):
    """Convert (reason optional) or disqualify (reason required)."""

    reason = forms.CharField(label="Reason", required=False, max_length=NOTE_MAX)

    def __init__(self, *args: Any, reason_required: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required
        self.fields["reason"].label = "Why (required)" if reason_required else "Note (optional)"
        if reason_required:
            self.fields["reason"].error_messages["required"] = "Say why the lead is disqualified."

    def clean_reason(self) -> str:
        return str(self.cleaned_data.get("reason") or "").strip()


class AwayForm(forms.Form):
    away = forms.TypedChoiceField(
        choices=[("1", "away"), ("0", "back")], coerce=lambda value: value == "1"
    )


class TimeOffForm(forms.Form):
    """A period in the rep's own zone: the page activates it, so naive input is read there."""

    starts_at = forms.DateTimeField(
        label="From", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label="Until", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    reason = forms.ChoiceField(label="Reason", choices=TimeOffReason.choices)
    note = forms.CharField(
        label="Note (optional; you and managers only)",
        required=False,
        max_length=TIME_OFF_NOTE_MAX,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", "The end must be after the start.")
        return data


class ReassignForm(forms.Form):
    """A manager hands a lead to an active rep, with a note (required)."""

    rep = forms.CharField(label="Rep", max_length=150)
    note = forms.CharField(label="Note", max_length=NOTE_MAX)

    def clean_rep(self) -> Rep:
        username = self.cleaned_data["rep"].strip()
        rep = Rep.objects.select_related("user").filter(user__username=username).first()
        if rep is None:
            raise forms.ValidationError(f"No rep is called '{username}'.")
        if not rep.active:
            raise forms.ValidationError(f"{username} is inactive.")
        return rep

    def clean_note(self) -> str:
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError("Say why you reassign the lead.")
        return note


class LeadIdsField(forms.Field):
    """Ticked lead ids (checkboxes named alike): whole numbers, at most ``max_count``."""

    widget = forms.MultipleHiddenInput

    def __init__(self, *, max_count: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_count = max_count

    def to_python(self, value: Any) -> list[int]:
        values = value if isinstance(value, list | tuple) else [value] if value else []
        ids = []
        for each in values:
            text = str(each).strip()
            if not text.isdigit() or len(text) > 18:
                raise forms.ValidationError(f"'{text[:20]}' is not a lead number.")
            ids.append(int(text))
        if len(ids) > self.max_count:
            raise forms.ValidationError(f"Reroute at most {self.max_count} leads at once.")
        return sorted(set(ids))


class BulkRerouteForm(forms.Form):
    leads = LeadIdsField(max_count=500, error_messages={"required": "Tick the leads to reroute."})


WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class WorkingHoursForm(forms.Form):
    """One window a day, Monday to Sunday, in the rep's zone; days left unticked are off.

    ``windows()`` groups days with the same hours, as the configuration document keeps them.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for day, name in enumerate(WEEKDAY_NAMES):
            self.fields[f"works_{day}"] = forms.BooleanField(label=name, required=False)
            self.fields[f"start_{day}"] = forms.TimeField(
                label=f"{name} from",
                required=False,
                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            )
            self.fields[f"end_{day}"] = forms.TimeField(
                label=f"{name} until",
                required=False,
                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            )

    @classmethod
    def initial_from(cls, hours: list[Any]) -> dict[str, Any]:
        initial: dict[str, Any] = {}
        for window in hours:
            for day in window.weekdays:
                initial.update(
                    {f"works_{day}": True, f"start_{day}": window.start, f"end_{day}": window.end}
                )
        return initial

    def days(self) -> list[dict[str, Any]]:
        """The bound fields per day, for the template."""
        return [
            {
                "name": name,
                "works": self[f"works_{day}"],
                "start": self[f"start_{day}"],
                "end": self[f"end_{day}"],
            }
            for day, name in enumerate(WEEKDAY_NAMES)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for day, name in enumerate(WEEKDAY_NAMES):
            if not data.get(f"works_{day}"):
                continue
            start, end = data.get(f"start_{day}"), data.get(f"end_{day}")
            if start is None and f"start_{day}" not in self.errors:
                self.add_error(f"start_{day}", f"When do you start on {name}?")
            if end is None and f"end_{day}" not in self.errors:
                self.add_error(f"end_{day}", f"When do you stop on {name}?")
            if start is not None and end is not None and start == end:
                self.add_error(f"end_{day}", "Start and end must differ.")
        return data

    def windows(self) -> list[tuple[list[int], Any, Any]]:
        grouped: dict[tuple[Any, Any], list[int]] = {}
        for day in range(7):
            if self.cleaned_data.get(f"works_{day}"):
                key = (self.cleaned_data[f"start_{day}"], self.cleaned_data[f"end_{day}"])
                grouped.setdefault(key, []).append(day)
        return [(days, start, end) for (start, end), days in grouped.items()]

"""Sales reps, their working hours and their time off."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords

from apps.core.models import BaseModel
from apps.core.validators import validate_language_list, validate_string_list, validate_time_zone


def validate_weekdays(value: list[int]) -> None:
    if (
        not isinstance(value, list)
        or not value
        or any(
            not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6 for day in value
        )
    ):
        raise ValidationError(
            "Weekdays must be a non-empty list of integers 0 (Monday) to 6 (Sunday).",
            code="invalid_weekdays",
        )
    if len(set(value)) != len(value):
        raise ValidationError("Weekdays must not repeat.", code="duplicate_weekdays")


class Rep(BaseModel):
    """A sales rep who can receive leads. Linked one-to-one to a login."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rep"
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="IANA time zone, e.g. America/New_York. Working hours and daily caps use it.",
    )
    active = models.BooleanField(default=True, help_text="Inactive reps never receive leads.")
    away = models.BooleanField(default=False, help_text="Temporarily unavailable (set by the rep).")
    territories = models.ManyToManyField("territories.Territory", blank=True, related_name="reps")
    weight = models.PositiveSmallIntegerField(
        default=1, help_text="Relative share in weighted round robin."
    )
    max_open_leads = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Most leads assigned or contacted at once; empty = no limit.",
    )
    max_daily_leads = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Most new assignments per day in the rep's time zone; empty = no limit.",
    )
    skills = models.JSONField(default=list, blank=True, validators=[validate_string_list])
    languages = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_language_list],
        help_text='ISO 639-1 codes, e.g. ["en", "es"].',
    )

    # Load counters kept by the routing services in the same transaction as each assignment,
    # so eligibility reads one row per rep instead of aggregating the lead table per decision.
    # `reps_recount_loads` rebuilds them from the source rows.
    open_leads_count = models.PositiveIntegerField(default=0, editable=False)
    assigned_today = models.PositiveIntegerField(default=0, editable=False)
    assigned_today_date = models.DateField(null=True, blank=True, editable=False)
    last_assigned_at = models.DateTimeField(null=True, blank=True, editable=False)

    history = HistoricalRecords(
        excluded_fields=[
            "open_leads_count",
            "assigned_today",
            "assigned_today_date",
            "last_assigned_at",
            "updated_at",
        ]
    )

    class Meta:
        ordering = ["user__username"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weight__gte=0),
                name="rep_weight_not_negative",
                violation_error_message="Weight cannot be negative.",
            ),
            models.CheckConstraint(
                condition=models.Q(max_open_leads__isnull=True) | models.Q(max_open_leads__gte=0),
                name="rep_max_open_leads_not_negative",
                violation_error_message="Maximum open leads cannot be negative.",
            ),
            models.CheckConstraint(
                condition=models.Q(max_daily_leads__isnull=True) | models.Q(max_daily_leads__gte=0),
                name="rep_max_daily_leads_not_negative",
                violation_error_message="Maximum daily leads cannot be negative.",
            ),
        ]
        indexes = [models.Index(fields=["active", "away"], name="rep_active_away_idx")]

    def __str__(self) -> str:
        return self.username

    @property
    def username(self) -> str:
        return str(self.user.username)

    @property
    def name(self) -> str:
        return str(self.user.get_full_name() or self.user.username)

    def clean(self) -> None:
        super().clean()
        self.skills = sorted(
            {s.strip().lower() for s in self.skills if isinstance(s, str) and s.strip()}
        )
        self.languages = sorted({s.strip().lower() for s in self.languages if isinstance(s, str)})


class WorkingHours(BaseModel):
    """A weekly window in the rep's time zone; `end` before `start` wraps past midnight."""

    rep = models.ForeignKey(Rep, on_delete=models.CASCADE, related_name="working_hours")
    weekdays = models.JSONField(
        default=list, validators=[validate_weekdays], help_text="0 = Monday ... 6 = Sunday."
    )
    start = models.TimeField()
    end = models.TimeField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["rep", "start"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(start=models.F("end")),
                name="working_hours_not_empty",
                violation_error_message="Start and end must differ.",
            ),
        ]

    def __str__(self) -> str:
        days = ",".join(str(d) for d in self.weekdays)
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M}"


class TimeOffSource(models.TextChoices):
    """Who wrote a period: a configuration document replaces only its own ones."""

    CONFIG = "config", "Configuration document"
    REP = "rep", "The rep (self service)"
    ADMIN = "admin", "A manager (admin or API)"


class TimeOffReason(models.TextChoices):
    """Why a rep is off, as a code: routing traces carry it, never free text about a person."""

    VACATION = "vacation", "Vacation"
    SICK = "sick", "Sick leave"
    PARENTAL = "parental", "Parental leave"
    TRAINING = "training", "Training"
    PUBLIC_HOLIDAY = "public_holiday", "Public holiday"
    OTHER = "other", "Other"


#: Longest time-off note; details belong in an HR system, not in the routing portal.
TIME_OFF_NOTE_MAX = 500


class TimeOff(BaseModel):
    """A period a rep receives no leads (vacation, leave, training).

    ``reason`` is a code; ``note`` is optional free text that only managers and the rep
    themself see (it never reaches routing, traces, notifications or the config document).
    """

    rep = models.ForeignKey(Rep, on_delete=models.CASCADE, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(
        max_length=20, choices=TimeOffReason.choices, default=TimeOffReason.OTHER
    )
    note = models.CharField(
        max_length=TIME_OFF_NOTE_MAX,
        blank=True,
        help_text="Seen by managers and the rep only; never shown to colleagues.",
    )
    source = models.CharField(
        max_length=8,
        choices=TimeOffSource.choices,
        default=TimeOffSource.CONFIG,
        help_text="Periods added by reps or managers outside a document are kept when a "
        "document that does not list them is applied.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["rep", "starts_at"]
        verbose_name = "time off"
        verbose_name_plural = "time off"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="time_off_ends_after_start",
                violation_error_message="Time off must end after it starts.",
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=TimeOffSource.values), name="time_off_source_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["rep", "starts_at", "ends_at"], name="time_off_rep_span_idx")
        ]

    def __str__(self) -> str:
        return f"{self.rep} {self.starts_at:%Y-%m-%d} to {self.ends_at:%Y-%m-%d}"

    def clean(self) -> None:
        super().clean()
        if self.rep_id and self.starts_at and self.ends_at:
            overlapping = TimeOff.objects.filter(
                rep_id=self.rep_id, starts_at__lt=self.ends_at, ends_at__gt=self.starts_at
            ).exclude(pk=self.pk)
            clash = overlapping.first()
            if clash is not None:
                raise ValidationError(
                    f"Overlaps existing time off {clash.starts_at:%Y-%m-%d %H:%M} to "
                    f"{clash.ends_at:%Y-%m-%d %H:%M} UTC.",
                    code="overlapping_time_off",
                )

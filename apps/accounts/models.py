"""Named accounts: an email domain owned by a rep (account-owner routing)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords

from apps.core.models import BaseModel

domain_validator = RegexValidator(
    r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    "Enter a lower-case domain such as acme.com.",
)


class Account(BaseModel):
    """A customer or target company, recognised by its email domain."""

    domain = models.CharField(max_length=253, unique=True, validators=[domain_validator])
    name = models.CharField(max_length=200)
    owner = models.ForeignKey(
        "reps.Rep", null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return f"{self.name} ({self.domain})"

    def clean(self) -> None:
        super().clean()
        self.domain = (self.domain or "").strip().lower()

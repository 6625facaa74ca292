"""Territories: a tree of sales areas defined by countries, regions and postal prefixes."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords

from apps.core.models import BaseModel
from apps.core.validators import validate_country_list, validate_region_list, validate_string_list

territory_code_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9_-]{0,39}$",
    "Use 1-40 upper-case letters, digits, '-' or '_' (e.g. US-WEST).",
)


class Territory(BaseModel):
    """A sales area. Leads match the most specific territory (postal prefix, region, country)."""

    code = models.CharField(max_length=40, unique=True, validators=[territory_code_validator])
    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    countries = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_country_list],
        help_text='ISO 3166-1 alpha-2 codes, e.g. ["US", "CA"].',
    )
    regions = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_region_list],
        help_text='ISO 3166-2 codes, e.g. ["US-CA", "US-WA"].',
    )
    postal_prefixes = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_string_list],
        help_text='Postal code prefixes, e.g. ["94", "SW1"].',
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "territories"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("id")),
                name="territory_not_own_parent",
                violation_error_message="A territory cannot be its own parent.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"

    def ancestors(self) -> list[Territory]:
        """Parents up to the root, nearest first (stops on a cycle)."""
        chain: list[Territory] = []
        seen = {self.pk}
        node = self.parent
        while node is not None and node.pk not in seen:
            chain.append(node)
            seen.add(node.pk)
            node = node.parent
        return chain

    def clean(self) -> None:
        super().clean()
        if self.code:
            self.code = self.code.upper()
        self.postal_prefixes = [
            p.strip().upper() for p in self.postal_prefixes if isinstance(p, str)
        ]
        if self.parent_id is not None and self.pk is not None:
            node = self.parent
            while node is not None:
                if node.pk == self.pk:
                    raise ValidationError(
                        {"parent": "This parent would make a cycle in the territory tree."}
                    )
                node = node.parent

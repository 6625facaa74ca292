"""The leads' expression indexes serve the queries the application writes: PostgreSQL matches
an indexed expression by its parsed form, so a filter compiled another way reads the table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from apps.leads.filtersets import LeadFilterSet
from apps.leads.models import Lead
from tests.factories import LeadFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_a_source_filter_reads_the_upper_cased_source_index() -> None:
    for n in range(50):
        LeadFactory(
            lead_source=("Web", "event")[n % 2], created_at=datetime(2026, 3, 1, tzinfo=UTC)
        )
    # as the lead list and the dashboards filter: case-insensitively
    leads = LeadFilterSet({"lead_source": "WEB"}, queryset=Lead.objects.all()).qs
    assert leads.count() == 25
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = leads.filter(created_at__gte=datetime(2026, 2, 1, tzinfo=UTC)).explain()
    assert "lead_source_upper_created_idx" in plan
    assert "Index Cond: ((upper((lead_source)::text) = 'WEB'::text)" in plan

"""Many leads' columns written at once agree with Django's bulk_update, the plain reference."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.bulk import update_lead_columns
from leads.models import Lead
from leads.stages import Stage
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

FIELDS = ["stage", "stage_entered_at", "cycle", "recycle_count", "mql_armed", "owner", "score"]


NOW = timezone.now().replace(microsecond=0)


def changed_copies(leads, rep):
    now = NOW
    for number, lead in enumerate(leads):
        lead.stage = Stage.SAL if number % 2 else Stage.NURTURE
        lead.stage_entered_at = now - timedelta(hours=number)
        lead.cycle = 1 + number % 3
        lead.recycle_count = number
        lead.mql_armed = bool(number % 2)
        lead.owner = rep if number % 3 else None
        lead.score = 7 * number
    return leads


def stored(ids):
    return list(
        Lead.objects.filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", *[f if f != "owner" else "owner_id" for f in FIELDS])
    )


def test_writing_many_leads_columns_stores_what_bulk_update_stores(rep1):
    fast = changed_copies(LeadFactory.create_batch(5), rep1)
    reference = changed_copies(LeadFactory.create_batch(5), rep1)
    update_lead_columns(fast, FIELDS)
    Lead.objects.bulk_update(reference, FIELDS)
    fast_rows = [row[1:] for row in stored([lead.pk for lead in fast])]
    reference_rows = [row[1:] for row in stored([lead.pk for lead in reference])]
    assert fast_rows == reference_rows
    assert fast_rows[1][0] == Stage.SAL and fast_rows[4][-1] == 28

"""The worker's watchman collects rescore marks no doorbell delivered: a lead marked
long ago is rescored, a lead marked a moment ago is left to its doorbell."""

from datetime import timedelta

import pytest
from django.utils import timezone

from scoring.models import RescoreMark
from scoring.services import mark_for_rescore
from scoring.services.overdue import rescore_overdue_marks

from .conftest import pricing_view

pytestmark = pytest.mark.django_db

TEN_SECONDS = timedelta(seconds=10)


def test_a_lead_marked_longer_ago_than_a_doorbell_takes_is_rescored(lead, default_rules):
    pricing_view(lead)
    mark_for_rescore(lead_ids=[lead.pk])
    RescoreMark.objects.update(marked_at=timezone.now() - timedelta(seconds=30), last_marked_at=None)

    assert rescore_overdue_marks(older_than=TEN_SECONDS) == 1

    lead.refresh_from_db()
    assert lead.score > 0
    assert not RescoreMark.pending().exists()


def test_a_lead_marked_a_moment_ago_is_left_to_its_doorbell(lead, default_rules):
    pricing_view(lead)
    mark_for_rescore(lead_ids=[lead.pk])

    assert rescore_overdue_marks(older_than=TEN_SECONDS) == 0

    lead.refresh_from_db()
    assert lead.score == 0
    assert RescoreMark.pending().filter(lead=lead).exists()

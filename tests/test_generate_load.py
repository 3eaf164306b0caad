import pytest
from django.core.management import call_command

from events.models import EngagementEvent
from leads.models import Lead, StageTransition

pytestmark = pytest.mark.django_db


def test_generate_load_writes_the_asked_numbers_of_leads_and_events():
    call_command("generate_load", leads=30, events=200, seed=5)
    assert Lead.objects.count() == 30
    assert EngagementEvent.objects.count() == 200


def test_generated_leads_each_have_their_creation_transition():
    call_command("generate_load", leads=10, events=0)
    assert StageTransition.objects.filter(kind="created").count() == 10

from datetime import timedelta

import pytest
from django.utils import timezone

from scoring.rules import install_default_rules
from tests.factories import EngagementEventFactory

# The events factory lives with the others; its old name here stays for these tests.
EventFactory = EngagementEventFactory


def demo_request(lead, *, ago=timedelta(0), **kwargs):
    return EventFactory(
        lead=lead,
        type="form_submitted",
        properties={"form": "demo-request"},
        occurred_at=timezone.now() - ago,
        **kwargs,
    )


def pricing_view(lead, *, ago=timedelta(0), **kwargs):
    return EventFactory(
        lead=lead, type="page_view", properties={"url": "https://example.com/pricing"}, occurred_at=timezone.now() - ago
    )


def blog_view(lead, *, ago=timedelta(0)):
    return EventFactory(
        lead=lead,
        type="page_view",
        properties={"url": "https://example.com/blog/post"},
        occurred_at=timezone.now() - ago,
    )


@pytest.fixture
def default_rules(db):
    """The default rule set: migrations load it, but a transactional test's flush removes it."""
    install_default_rules()

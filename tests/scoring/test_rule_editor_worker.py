import pytest

from scoring.models import PreviewStatus, RulePreview, ScoringRule
from scoring.previews import start_rule_preview
from scoring.rules import install_default_rules
from tests.factories import LeadFactory
from tests.workers import running_worker, wait_for


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_preview_to_the_end():
    install_default_rules()
    LeadFactory.create_batch(3)
    pricing = ScoringRule.objects.get(label="Pricing page view")
    from django.db import transaction

    with transaction.atomic():
        preview = start_rule_preview(
            draft={"action": "update", "rule_id": pricing.pk, "base_version": pricing.version, "changes": {"points": 9}}
        )
    with running_worker():
        finished = wait_for(
            lambda: RulePreview.objects.filter(pk=preview.pk, status=PreviewStatus.DONE).exists(), timeout=60
        )
    assert finished, "the preview never finished"
    preview.refresh_from_db()
    assert preview.results["now"]["candidates"] == 3
    assert preview.percent == 100

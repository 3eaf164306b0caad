"""One source for a deal's input rules: what the API's schema offers on a stage move is
what the lifecycle's deal rules take, and a field it does not take is refused by name."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from leads.lifecycle import DEAL_FIELDS, clean_deal
from leads.serializers import DealInputSerializer
from leads.stages import Stage
from sales.errors import InvalidSalesInput
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_the_deal_input_offers_exactly_the_fields_the_deal_rules_take():
    assert set(DealInputSerializer().fields) == set(DEAL_FIELDS)


def test_the_openapi_schema_advertises_no_deal_field_the_service_refuses():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    advertised = set(schema["components"]["schemas"]["DealInput"]["properties"])
    assert advertised == set(DEAL_FIELDS)
    for field in advertised:
        clean_deal({field: ""})  # none of them is refused as unknown


@pytest.mark.parametrize("field", ["proposal_sent_at", "proposal_accepted_at", "lost_reason"])
def test_a_deal_field_set_by_its_own_action_is_refused_by_name(api_as, field):
    accepted = LeadFactory(stage=Stage.SAL)
    response = api_as("leads:write").post(
        f"/api/v1/leads/{accepted.pk}/transitions",
        {"to": "sql", "deal": {"value": "100", field: "2026-01-01T00:00:00Z"}},
        format="json",
    )
    assert response.status_code == 400
    assert f"deal.{field}" in response.json()["error"]["fields"]
    assert not accepted.deals.exists()


def test_the_deal_rules_refuse_the_same_fields_by_the_same_name():
    with pytest.raises(InvalidSalesInput) as refusal:
        clean_deal({"value": "100", "lost_reason": "no budget"})
    assert "deal.lost_reason" in refusal.value.fields

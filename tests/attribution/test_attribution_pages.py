"""/analytics/attribution/ and its spend, channel-rule and campaign pages; the touch path on lead detail."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from attribution.models import AttributionChange, CampaignSpend, ChannelRule
from attribution.services import refresh_attribution
from leads.stages import Stage
from tests.attribution.conftest import build_story
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
MARCH = "?from=2026-03-01&to=2026-03-31"


def test_marketer_sees_credited_conversions_per_campaign(client, marketer, refreshed):
    client.force_login(marketer)
    page = client.get("/analytics/attribution/" + MARCH + "&model=first_touch").content.decode()
    assert 'data-testid="attribution-table"' in page
    assert "spring" in page and "newsletter" not in page.split("attribution-table")[1].split("</table>")[0]
    assert "MQLs 2" in page


def test_the_page_shows_one_small_chart_per_model(client, marketer, refreshed):
    client.force_login(marketer)
    page = client.get("/analytics/attribution/" + MARCH).content.decode()
    assert page.count('<figure class="multiple') == 7
    assert page.count("<svg") >= 7


def test_table_csv_has_a_row_per_campaign(client, marketer, refreshed):
    client.force_login(marketer)
    reply = client.get("/analytics/attribution/table.csv" + MARCH + "&model=linear")
    assert reply.status_code == 200
    rows = list(csv.DictReader(io.StringIO(reply.content.decode())))
    spring = next(row for row in rows if row["campaign"] == "spring")
    assert float(spring["credited_customer"]) == 0.2


def test_models_csv_compares_the_models_side_by_side(client, marketer, refreshed):
    client.force_login(marketer)
    reply = client.get("/analytics/attribution/models.csv" + MARCH + "&milestone=customer")
    rows = {row["campaign"]: row for row in csv.DictReader(io.StringIO(reply.content.decode()))}
    assert (float(rows["spring"]["first_touch"]), float(rows["spring"]["last_touch"])) == (1.0, 0.0)


def test_csv_neutralises_formulas_in_campaign_names(client, marketer):
    CampaignSpend.objects.create(campaign="=hyperlink(1)", month="2026-03-01", amount=10)
    client.force_login(marketer)
    body = client.get("/analytics/attribution/table.csv" + MARCH).content.decode()
    assert "'=hyperlink(1)" in body


def test_a_sales_rep_is_refused_the_page_and_its_csv(client, rep1):
    client.force_login(rep1)
    assert client.get("/analytics/attribution/").status_code == 403
    assert client.get("/analytics/attribution/table.csv").status_code == 403


def test_a_bad_date_is_a_400_with_the_message_next_to_the_field(client, marketer):
    client.force_login(marketer)
    reply = client.get("/analytics/attribution/?from=2026-04-01&to=2026-03-01")
    assert reply.status_code == 400
    assert "The start date is after the end date." in reply.content.decode()


def test_the_page_costs_the_same_queries_however_much_data(client, marketer, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(marketer)
    build_story()
    refresh_attribution()
    with CaptureQueriesContext(connection) as small:
        assert client.get("/analytics/attribution/" + MARCH).status_code == 200
    for _ in range(3):
        build_story()
    CampaignSpend.objects.create(campaign="spring", month="2026-03-01", amount=10)
    refresh_attribution()
    with django_assert_num_queries(len(small.captured_queries)):
        assert client.get("/analytics/attribution/" + MARCH).status_code == 200
    assert len(small.captured_queries) <= 8


def test_marketer_enters_spend_on_the_spend_page(client, marketer):
    client.force_login(marketer)
    reply = client.post(
        "/analytics/attribution/spend/",
        {"campaign": "Spring", "month": "2026-03", "amount": "1500", "currency": "EUR", "channel": "Paid search"},
    )
    assert reply.status_code == 302
    assert CampaignSpend.objects.get().campaign == "spring"


def test_spend_csv_import_saves_every_row(client, marketer):
    client.force_login(marketer)
    upload = SimpleUploadedFile(
        "spend.csv", b"campaign,month,amount,channel\nspring,2026-03,1000,Paid search\nautumn,2026-04,250.50,\n"
    )
    assert client.post("/analytics/attribution/spend/", {"file": upload}).status_code == 302
    assert sorted(CampaignSpend.objects.values_list("campaign", "amount")) == [("autumn", 250.5), ("spring", 1000)]


def test_spend_csv_with_one_bad_row_saves_nothing_and_names_the_row(client, marketer):
    client.force_login(marketer)
    upload = SimpleUploadedFile("spend.csv", b"campaign,month,amount\nspring,2026-03,1000\nautumn,someday,5\n")
    reply = client.post("/analytics/attribution/spend/", {"file": upload})
    assert reply.status_code == 400
    assert "Row 3" in reply.content.decode()
    assert not CampaignSpend.objects.exists()


def test_a_manager_reads_spend_but_may_not_enter_it(client, manager):
    client.force_login(manager)
    assert client.get("/analytics/attribution/spend/").status_code == 200
    reply = client.post("/analytics/attribution/spend/", {"campaign": "x", "month": "2026-03", "amount": "1"})
    assert reply.status_code == 403


def test_marketer_adds_a_channel_rule_that_renames_a_channel(client, marketer, story):
    client.force_login(marketer)
    reply = client.post(
        "/analytics/attribution/channels/",
        {
            "position": 1,
            "field": "campaign",
            "match": "contains",
            "values": "retar",
            "channel": "Retargeting",
            "active": "on",
        },
    )
    assert reply.status_code == 302
    assert AttributionChange.objects.filter(subject="channel_rule").count() == 1
    refresh_attribution()
    body = client.get(
        "/api/v1/analytics/attribution?by=channel&milestone=mql&model=last_touch&from=2026-03-01&to=2026-03-31"
    )
    assert "Retargeting" in [row["key"] for row in body.json()["rows"]]


def test_a_deleted_channel_rule_is_gone_with_a_trail_row(client, marketer):
    client.force_login(marketer)
    rule = ChannelRule.objects.first()
    assert client.post("/analytics/attribution/channels/", {"delete": rule.pk}).status_code == 302
    assert not ChannelRule.objects.filter(pk=rule.pk).exists()
    assert AttributionChange.objects.get().before["channel"] == rule.channel


def test_campaign_page_lists_the_leads_it_touched_with_their_stage(client, marketer, refreshed):
    client.force_login(marketer)
    page = client.get("/analytics/attribution/campaign/?name=Newsletter").content.decode()
    assert refreshed.anna.display_name in page
    assert "Customer" in page
    assert refreshed.ben.display_name not in page


def test_lead_detail_shows_each_touch_credit_under_the_chosen_model(client, marketer, refreshed):
    client.force_login(marketer)
    page = client.get(f"/leads/{refreshed.anna.pk}/?attribution_model=w_shaped").content.decode()
    path = page.split('data-testid="touch-path-cycle-1"')[1].split("</table>")[0]
    # W-shaped, customer column of the retarget ad (the MQL anchor): 30%.
    assert "retarget" in path and "30.0%" in path
    assert path.count("<tr>") == 6  # header + five touches


def test_a_sales_rep_sees_no_touch_path_on_lead_detail(client, rep1, refreshed):
    # A rep reads the lead page of their own SAL/SQL leads only (leads.access).
    own = LeadFactory(stage=Stage.SQL, owner=rep1)
    client.force_login(rep1)
    page = client.get(f"/leads/{own.pk}/")
    assert page.status_code == 200
    assert "touch-path" not in page.content.decode()

"""The funnel page and its CSV downloads, as the people allowed to read them see them."""

import csv
import io

import pytest

from analytics.services import refresh_analytics
from tests import factories
from tests.analytics.conftest import build_story

pytestmark = pytest.mark.django_db

MARCH = "?from=2026-03-01&to=2026-03-31"


@pytest.mark.smoke
def test_marketer_reads_every_section_of_the_report(client, marketer, story):
    client.force_login(marketer)
    response = client.get("/analytics/funnel/" + MARCH)
    assert response.status_code == 200
    page = response.content.decode()
    for heading in [
        "Stage conversion",
        "Time in stage",
        "Weekly cohorts",
        "Hand-off",
        "Close",
        "Engagement",
        "Delight",
        "Scoring accuracy",
    ]:
        assert f">{heading}</h2>" in page
    # 16 charts (campaigns by customers among them), and the learned model beside the rules.
    assert page.count('role="img"') == 17
    assert '<title id="conversion-title">Leads entering each stage</title>' in page


def test_each_chart_has_a_table_of_its_numbers(client, marketer, story):
    client.force_login(marketer)
    page = client.get("/analytics/funnel/" + MARCH).content.decode()
    assert '<th scope="row">Lead generation</th><td>6</td><td>4</td><td>66.7%</td>' in page


@pytest.mark.parametrize("role", ["sales_manager", "admin"])
def test_managers_and_admins_may_read_the_report(client, role):
    user = factories.admin_user(username="boss") if role == "admin" else factories.sales_manager(username="boss")
    client.force_login(user)
    assert client.get("/analytics/funnel/").status_code == 200


@pytest.mark.smoke
def test_a_sales_rep_is_refused_the_report_and_its_csv(client, rep1):
    client.force_login(rep1)
    assert client.get("/analytics/funnel/").status_code == 403
    assert client.get("/analytics/funnel/conversion.csv").status_code == 403


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get("/analytics/funnel/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_start_after_the_end_is_a_400_naming_the_field(client, marketer):
    client.force_login(marketer)
    response = client.get("/analytics/funnel/?from=2026-04-01&to=2026-03-01")
    assert response.status_code == 400
    assert 'id="from-error"' in response.content.decode()


def test_a_malformed_date_is_a_400_not_a_500(client, marketer):
    client.force_login(marketer)
    assert client.get("/analytics/funnel/?from=yesterday").status_code == 400
    assert client.get("/analytics/funnel/conversion.csv?owner=abc").status_code == 400


def test_csv_download_has_the_charts_rows(client, marketer, story):
    client.force_login(marketer)
    response = client.get("/analytics/funnel/conversion.csv" + MARCH)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="funnel-conversion-20260301-20260331.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["Stage", "Entered", "Reached a later stage"]
    assert rows[2][:4] == ["Lead generation", "6", "4", "0.6667"]


def test_an_unknown_chart_has_no_csv(client, marketer):
    client.force_login(marketer)
    assert client.get("/analytics/funnel/nonsense.csv").status_code == 404


def test_csv_neutralises_formulas_in_text_cells(client, marketer, story):
    from sales.models import SalesAlert

    SalesAlert.objects.filter(lead=story.b).update(reject_reason='=HYPERLINK("http://evil")')
    refresh_analytics()
    client.force_login(marketer)
    body = client.get("/analytics/funnel/rejection-reasons.csv" + MARCH).content.decode()
    assert "'=HYPERLINK" in body
    assert "\n=HYPERLINK" not in body


def test_chart_text_is_escaped_in_the_svg(client, marketer, story):
    from sales.models import SalesAlert

    SalesAlert.objects.filter(lead=story.b).update(reject_reason="<script>alert(1)</script>")
    refresh_analytics()
    client.force_login(marketer)
    page = client.get("/analytics/funnel/" + MARCH).content.decode()
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)" in page


def test_the_page_costs_the_same_queries_however_much_data(client, marketer, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(marketer)
    build_story()
    refresh_analytics()
    with CaptureQueriesContext(connection) as small:
        assert client.get("/analytics/funnel/" + MARCH).status_code == 200
    for _ in range(3):
        build_story()
    refresh_analytics()
    with django_assert_num_queries(len(small.captured_queries)):
        assert client.get("/analytics/funnel/" + MARCH).status_code == 200
    assert len(small.captured_queries) <= 25


def test_the_report_reads_the_summary_tables_once_per_refresh(client, marketer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(marketer)
    build_story()
    refresh_analytics()
    first_html = client.get("/analytics/funnel/" + MARCH).content.decode()
    with CaptureQueriesContext(connection) as again:
        second_html = client.get("/analytics/funnel/" + MARCH).content.decode()
    summaries = [q["sql"] for q in again.captured_queries if "daily" in q["sql"] or "weekly" in q["sql"]]
    assert summaries == []
    assert len(again.captured_queries) <= 10
    assert (
        second_html.split("<main")[1].split("csrfmiddlewaretoken")[0]
        == (first_html.split("<main")[1].split("csrfmiddlewaretoken")[0])
    )


def test_a_new_refresh_shows_new_numbers_at_once(client, marketer):
    client.force_login(marketer)
    build_story()
    refresh_analytics()
    before = client.get("/api/v1/analytics/funnel" + MARCH).json()
    build_story()
    refresh_analytics()
    after = client.get("/api/v1/analytics/funnel" + MARCH).json()
    assert after["refreshed_at"] != before["refreshed_at"]
    assert after["conversion"] != before["conversion"]

from pathlib import Path

import pytest

from analytics.services import refresh_analytics
from tests.analytics.conftest import build_story
from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_marketer_reads_the_funnel_report_and_downloads_a_csv(page, live_server, marketer):
    build_story()
    refresh_analytics()
    log_in(page, live_server, "marketer")
    page.goto(f"{live_server.url}/analytics/funnel/?from=2026-03-01&to=2026-03-31")
    assert page.get_by_role("heading", name="Stage conversion").is_visible()
    assert page.locator('svg[role="img"]').count() == 17
    funnel = page.get_by_role("img", name="Leads entering each stage")
    assert funnel.is_visible()
    screenshot(page, "analytics-funnel")

    page.get_by_text("Numbers behind “Leads entering each stage”").click()
    row = page.get_by_role("row", name="Lead generation")
    assert "66.7%" in row.inner_text()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download Leads entering each stage as CSV").click()
    download = download_info.value
    assert download.suggested_filename == "funnel-conversion-20260301-20260331.csv"
    content = Path(download.path()).read_text(encoding="utf-8")
    assert "Lead generation,6,4,0.6667" in content


def test_marketer_narrows_the_report_to_one_source(page, live_server, marketer):
    build_story()
    refresh_analytics()
    log_in(page, live_server, "marketer")
    page.goto(f"{live_server.url}/analytics/funnel/?from=2026-03-01&to=2026-03-31")
    page.get_by_label("Source", exact=True).select_option("linkedin")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    assert "source=linkedin" in page.url
    page.get_by_text("Numbers behind “Leads entering each stage”").click()
    assert "2" in page.get_by_role("row", name="Lead generation").inner_text()
    screenshot(page, "analytics-funnel-linkedin")

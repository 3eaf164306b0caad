from pathlib import Path

import pytest

from attribution.services import refresh_attribution
from tests.attribution.conftest import build_story
from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_marketer_enters_spend_compares_models_and_downloads_the_csv(page, live_server, marketer):
    build_story()
    refresh_attribution()
    log_in(page, live_server, "marketer")

    page.goto(f"{live_server.url}/analytics/attribution/spend/")
    page.get_by_label("Campaign").fill("Spring")
    page.get_by_label("Month").fill("2026-03")
    page.get_by_label("Amount").fill("2000")
    page.get_by_role("button", name="Save spend").click()
    page.wait_for_load_state()
    assert "Saved spend of spring for March 2026." in page.content()
    assert "2000.00 EUR" in page.get_by_test_id("spend-table").inner_text()

    page.goto(f"{live_server.url}/analytics/attribution/?from=2026-03-01&to=2026-03-31")
    page.get_by_label("Model", exact=True).select_option("first_touch")
    page.get_by_label("Milestone", exact=True).select_option("customer")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    assert "model=first_touch" in page.url and "milestone=customer" in page.url
    spring = page.get_by_test_id("attribution-table").get_by_role("row", name="spring")
    # First touch: the 10,000 deal is spring's; 2,000 spent: 2,000 per customer, return (10,000 − 2,000) ÷ 2,000.
    cells = spring.get_by_role("cell").all_inner_texts()
    assert cells[2:] == ["1.00", "10,000", "2,000", "2,000", "2,000", "2,000", "4.00×"]
    assert page.locator("figure.multiple.selected figcaption").inner_text() == "First touch"
    screenshot(page, "attribution-first-touch")

    page.get_by_label("Model", exact=True).select_option("linear")
    page.get_by_label("Milestone", exact=True).select_option("mql")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    spring = page.get_by_test_id("attribution-table").get_by_role("row", name="spring")
    assert spring.get_by_role("cell").all_inner_texts()[0:3] == ["0.33", "0.25", "0.20"]
    assert page.locator("figure.multiple.selected figcaption").inner_text() == "Linear"

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the table as CSV").click()
    download = download_info.value
    assert download.suggested_filename == "attribution-table-campaign-20260301-20260331.csv"
    content = Path(download.path()).read_text(encoding="utf-8")
    assert content.splitlines()[0].startswith("campaign,credited_lead,credited_mql")
    assert any(line.startswith("spring,1.0,0.3333,0.25,0.2,2000.0,2000.0,") for line in content.splitlines())

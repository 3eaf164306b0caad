"""A marketer walks every page of issue 7 in a real Chromium."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from events.models import EngagementEvent
from funnel.celery import app
from leads.actors import Actor
from leads.models import Lead
from leads.services import create_lead, move_lead
from leads.stages import Stage
from scoring.models import ScoreChange
from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)

system = Actor.system("demo")


def pricing(points, events):
    return {
        "rule_id": 1,
        "version": 1,
        "label": "Visited pricing",
        "kind": "behaviour",
        "points": points,
        "value": float(points),
        "events": events,
        "capped": False,
    }


@pytest.fixture
def funnel_leads(marketer):
    ada = create_lead(
        actor=system,
        email="ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
        company="Analytical Engines",
        source="webinar",
        utm_campaign="spring",
    )
    move_lead(lead=ada, to=Stage.NURTURE, actor=system)
    ScoreChange.objects.create(
        lead=ada,
        old_score=0,
        new_score=30,
        cause="event",
        at=timezone.now() - timedelta(days=3),
        contributions=[pricing(30, 3)],
    )
    ScoreChange.objects.create(
        lead=ada,
        old_score=30,
        new_score=42,
        cause="event",
        at=timezone.now(),
        contributions=[pricing(42, 4)],
    )
    Lead.objects.filter(pk=ada.pk).update(score=42)
    EngagementEvent.objects.create(
        message_id="e2e-1", lead=ada, type="page_view", occurred_at=timezone.now(), properties={"url": "/pricing"}
    )
    create_lead(
        actor=system, email="grace@example.com", first_name="Grace", last_name="Hopper", company="Navy", source="ads"
    )
    create_lead(
        actor=system, email="ada.l@example.com", first_name="Ada", last_name="L.", company="Engines Ltd", source="ads"
    )
    return ada


def test_marketer_walks_board_list_detail_create_edit_and_merge(page, live_server, marketer, funnel_leads):
    log_in(page, live_server, "marketer")

    # Board, filtered by source.
    assert page.url.endswith("/pipeline/")
    assert page.locator('.count[data-stage="nurture"]').inner_text() == "1"
    page.get_by_label("Source").select_option("ads")
    page.get_by_role("button", name="Filter").click()
    assert page.locator('.count[data-stage="lead_gen"]').inner_text() == "2"
    assert page.locator('.count[data-stage="nurture"]').inner_text() == "0"
    screenshot(page, "marketer-board-filtered")

    # Move from the board: confirmation page, then back to the board.
    page.get_by_role("link", name="Move Grace Hopper").click()
    page.get_by_label("Move to").select_option("nurture")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Confirm move").click()
    assert "/pipeline/" in page.url
    assert page.locator('.count[data-stage="nurture"]').inner_text() == "1"

    # List, search and export.
    page.goto(f"{live_server.url}/leads/")
    page.get_by_label("Search").fill("engines")
    page.get_by_role("button", name="Search").click()
    assert page.locator("tbody tr").count() == 2
    screenshot(page, "marketer-list-search")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "ada@example.com" in exported and "grace@example.com" not in exported

    # Detail: score, stage path, timeline.
    page.get_by_role("link", name="Ada Lovelace").click()
    assert page.get_by_role("heading", name="Score 42").is_visible()
    assert page.get_by_role("img", name="Score over time").is_visible()
    assert "Visited pricing" in page.locator("table.compact").inner_text()
    assert page.get_by_role("heading", name="Stage path").is_visible()
    assert "/pricing" in page.locator(".timeline").inner_text()
    screenshot(page, "marketer-lead-detail")

    # Edit with a validation error shown next to the field, then fixed.
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Email").fill("GRACE@example.com")
    page.get_by_role("button", name="Save").click()
    assert page.locator("#id_email_error").inner_text() == "Another lead already has this email address."
    screenshot(page, "marketer-edit-error")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Job title").fill("Countess")
    page.get_by_role("button", name="Save").click()
    assert "Countess" in page.locator(".profile").inner_text()

    # Merge the duplicate into Ada.
    page.get_by_role("link", name="Merge").click()
    page.get_by_label("The other lead (id or email address)").fill("ada.l@example.com")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Merge").click()
    assert "Merged" in page.locator(".messages").inner_text()
    assert "1 other lead folded into this one" in page.locator(".profile").inner_text()

    # Create a new lead.
    page.goto(f"{live_server.url}/leads/new/")
    page.get_by_label("Email").fill("linus@example.com")
    page.get_by_label("First name").fill("Linus")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_role("heading", name="Linus").is_visible()


def test_marketer_imports_a_csv_with_a_bad_row_and_downloads_the_errors(
    page, live_server, marketer, tmp_path, monkeypatch
):
    # The browser's request runs the task in-process once it commits; the real worker
    # path is covered by tests/leads/test_import_worker.py.
    monkeypatch.setattr(app.conf, "task_always_eager", True)
    csv_file = tmp_path / "acquired.csv"
    csv_file.write_text(
        "Email,First Name,Company\nnew@example.com,Nia,Acme\nbroken-address,Bad,Row\n", encoding="utf-8"
    )
    log_in(page, live_server, "marketer")
    page.goto(f"{live_server.url}/leads/import/")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and map columns").click()
    # The preview numbers each row by its line in the file, then shows its values.
    assert "new@example.com" in page.locator("tbody tr").first.inner_text()
    screenshot(page, "marketer-import-mapping")
    page.get_by_role("button", name="Import", exact=True).click()
    page.locator(".import-state", has_text="Finished").wait_for()
    assert page.get_by_role("progressbar").get_attribute("aria-valuenow") == "100"
    assert "1 lead created" in page.locator(".import-summary").inner_text()
    screenshot(page, "marketer-import-finished")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the rows with errors (CSV)").click()
    report = Path(download.value.path()).read_text(encoding="utf-8")
    # Which row and why, without the person's data (the uploaded text is dropped once imported).
    assert "3,Email,Not a valid email address." in report and "broken-address" not in report


def test_the_board_and_a_lead_work_at_phone_width(browser, live_server, marketer, funnel_leads):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    try:
        log_in(phone, live_server, "marketer")
        assert phone.locator('.count[data-stage="nurture"]').is_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, f"the board scrolls sideways on a phone ({width}px)"
        screenshot(phone, "marketer-board-phone")
        phone.goto(f"{live_server.url}/leads/{funnel_leads.pk}/")
        phone.keyboard.press("Tab")  # the skip link comes first for keyboard users
        assert phone.evaluate("document.activeElement.textContent") == "Skip to content"
        screenshot(phone, "marketer-detail-phone")
    finally:
        context.close()

"""The README's screenshots, taken from the demo data in a real Chromium: the board,
a lead, the queue on a phone and the funnel report. Kept under var/screenshots/; with
FUNNEL_README_SCREENSHOTS=1 they are also written to docs/screenshots/ for the README."""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from analytics.services import refresh_analytics
from leads.models import Lead
from leads.stages import Stage
from scoring.rules import install_default_rules
from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)
DOCS = Path(settings.BASE_DIR) / "docs" / "screenshots"


def keep(path: Path) -> None:
    if os.environ.get("FUNNEL_README_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS / path.name)


@pytest.fixture
def demo(settings):
    settings.FUNNEL_DEMO_PASSWORD = "demo-pass-123"
    # A browser test's database is flushed between tests, data migrations' rules too.
    install_default_rules()
    call_command("seed_demo", leads=120, seed=7)
    refresh_analytics()


def test_readme_screenshots(browser, live_server, demo):
    desktop = browser.new_context(viewport={"width": 1366, "height": 900})
    page = desktop.new_page()
    log_in(page, live_server, "marketer", "demo-pass-123")
    page.goto(f"{live_server.url}/pipeline/")
    keep(screenshot(page, "readme-board"))
    lead = Lead.objects.filter(stage=Stage.SQL).order_by("-score").first()
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    keep(screenshot(page, "readme-lead"))
    page.goto(f"{live_server.url}/analytics/funnel/")
    page.locator("#conversion").screenshot(path=str(Path(screenshot(page, "readme-funnel-report"))))
    keep(Path(settings.BASE_DIR) / "var" / "screenshots" / "readme-funnel-report.png")
    desktop.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = phone.new_page()
    log_in(page, live_server, "rep1", "demo-pass-123")
    page.goto(f"{live_server.url}/queue/")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    path = Path(settings.BASE_DIR) / "var" / "screenshots" / "readme-queue-phone.png"
    page.screenshot(path=str(path))  # the first screen, as a phone shows it
    keep(path)
    phone.close()

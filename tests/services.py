"""Which real services the suite can use, and what to do when one is missing.

With FUNNEL_REQUIRE_SERVICES=1 (CI), a test that needs a missing service fails
instead of skipping: in CI nothing may be skipped.
"""

import os
import shutil

import pytest
from django.conf import settings
from django.db import connection


def require_services() -> bool:
    return os.environ.get("FUNNEL_REQUIRE_SERVICES", "").strip().lower() in {"1", "true", "yes", "on"}


def missing(what: str) -> None:
    if require_services():
        pytest.fail(f"{what} is required (FUNNEL_REQUIRE_SERVICES=1) but not available", pytrace=False)
    pytest.skip(f"{what} is not available")


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def need_postgres() -> None:
    if not on_postgres():
        missing("PostgreSQL (set DATABASE_URL)")


def need_redis() -> None:
    if not settings.REDIS_URL:
        missing("Redis (set REDIS_URL)")


CHROMIUM = "/usr/bin/chromium"


def need_chromium() -> None:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        missing("Chromium (apt-get install chromium)")

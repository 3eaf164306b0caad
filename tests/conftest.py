import pytest

from tests import factories


@pytest.fixture(autouse=True)
def ingest_processed_in_the_request(settings):
    """An accepted event is processed by a worker after the answer (events/intake.py); in
    the suite, at once in the test's process, so a test reads what a worker would have
    written. Tests of the worker's half turn this off (tests/events/test_intake.py)."""
    settings.FUNNEL_INGEST_INLINE = True


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2's deliberate slowness costs seconds per test and proves nothing here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def marketer(db):
    return factories.marketer(username="marketer")


@pytest.fixture
def rep1(db):
    return factories.sales_rep(username="rep1")


@pytest.fixture
def rep2(db):
    return factories.sales_rep(username="rep2")


@pytest.fixture
def manager(db):
    return factories.sales_manager(username="manager")


@pytest.fixture
def admin(db):
    return factories.admin_user(username="admin")


@pytest.fixture
def lead(db):
    return factories.LeadFactory()

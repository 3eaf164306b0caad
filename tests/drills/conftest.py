import pytest

from events.services import create_api_key
from scoring.rules import install_default_rules
from tests.services import need_postgres, need_redis


def pytest_collection_modifyitems(items):
    for item in items:
        if "/drills/" in str(item.fspath):
            item.add_marker(pytest.mark.drill)


@pytest.fixture
def drill_key(transactional_db):
    """An ingest key on the default rules, in the test database the drill's processes share."""
    need_postgres()
    need_redis()
    install_default_rules()
    _api_key, raw = create_api_key(name="Drill", scopes=["events:write", "leads:read"])
    return raw

"""Real outages for in-process tests: the database or the cache made unreachable for
the duration of a block (connections to a closed port, not mocks)."""

from contextlib import contextmanager

from django.db import connection

CLOSED_PORT = "9"  # discard: nothing listens there, connections are refused at once


@contextmanager
def database_unreachable():
    """Every new connection of this process fails until the block ends (a transactional
    test: the test's own transaction would die with the connection)."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent/funnel-down.sqlite3"
    else:
        connection.settings_dict.update(HOST="127.0.0.1", PORT=CLOSED_PORT)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)

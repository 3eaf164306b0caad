"""Lookups that every MQL crossing repeats (the active reps, the active webhook
endpoints), read once per database transaction instead of once per use.

A crossing moves the lead (whose stage-change listener emits `lead.stage_changed`)
and raises the alert (which picks a rep and emits `lead.mql`): without this, one
crossing reads the endpoints twice, and a transaction with many crossings reads both
lists again for each one.

The cache lives as long as the transaction that filled it: a no-op on-commit hook
marks it, and the cache counts as valid only while that hook is still pending, so a
commit, a rollback (which drops pending hooks) or a rolled-back savepoint around the
read all end it. Writes through the ORM in this process (saving a user or an
endpoint, changing group membership) clear it at once; another process's changes
are seen from the next transaction on, as with any read at transaction start.
"""

from django.db import DEFAULT_DB_ALIAS, connections

_ATTRIBUTE = "_funnel_sales_txcache"


class _TransactionCache(dict):
    def __call__(self):
        """The on-commit hook: only its presence matters, it has nothing to do."""


def _current(using: str) -> _TransactionCache | None:
    connection = connections[using]
    if not connection.in_atomic_block:
        return None
    cache = getattr(connection, _ATTRIBUTE, None)
    if cache is not None and any(hook is cache for _, hook, _ in reversed(connection.run_on_commit)):
        return cache
    cache = _TransactionCache()
    setattr(connection, _ATTRIBUTE, cache)
    connection.on_commit(cache)
    return cache


def cached(key: str, load, using: str = DEFAULT_DB_ALIAS):
    """`load()`'s result, read once per transaction (every time outside one)."""
    cache = _current(using)
    if cache is None:
        return load()
    if key not in cache:
        cache[key] = load()
    return cache[key]


def forget(*_args, **_kwargs) -> None:
    """Drop what this process cached (a signal receiver: takes any arguments)."""
    for connection in connections.all(initialized_only=True):
        cache = getattr(connection, _ATTRIBUTE, None)
        if cache is not None:
            cache.clear()

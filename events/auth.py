"""API-key authentication: `Authorization: Bearer fk_<prefix>_<secret>`.

One indexed lookup by prefix (unique index) with the key's user joined in, then a
constant-time comparison of SHA-256(secret). A revoked key is treated exactly like an
unknown one, so a caller cannot tell the two apart.
"""

import hmac
from datetime import UTC, timedelta

import orjson
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import authentication, exceptions

from .models import ApiKey
from .services import KEY_PREFIX_LENGTH, hash_secret
from .throttling import take_bad_key_slot

LAST_USED_GRANULARITY = timedelta(minutes=1)


class ApiKeyPrincipal(AnonymousUser):
    """`request.user` for a key bound to no user: authenticated (the key is), but no
    person and no role, so only the key's scopes decide what it may do."""

    _funnel_role = None  # leads.access.role_of reads this instead of querying groups

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.username = f"api-key:{api_key.name}"

    @property
    def is_authenticated(self):
        return True

    @property
    def is_anonymous(self):
        return False

    def __str__(self):
        return self.username

    def __eq__(self, other):
        return isinstance(other, ApiKeyPrincipal) and other.api_key.pk == self.api_key.pk

    def __hash__(self):
        return hash(("api-key", self.api_key.pk))


def parse_key(raw: str) -> tuple[str, str] | None:
    """Split `fk_<prefix>_<secret>` into (prefix, secret), or None if it is not one."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != "fk" or len(parts[1]) != KEY_PREFIX_LENGTH or not parts[2]:
        return None
    return parts[1], parts[2]


def find_api_key(raw: str) -> ApiKey | None:
    """The active key matching `raw`, or None. Used by the Bearer authentication and by
    the Segment endpoints (Basic auth or `writeKey`)."""
    parsed = parse_key(raw or "")
    if parsed is None:
        return None
    prefix, secret = parsed
    api_key = _key_by_prefix(prefix)
    # Compare even when the prefix is unknown, so timing does not tell which prefixes exist.
    expected = api_key.secret_hash if api_key is not None else "0" * 64
    if not hmac.compare_digest(expected, hash_secret(secret)):
        return None
    if api_key is None or api_key.revoked_at is not None:
        return None
    if api_key.user_id is not None and not api_key.user.is_active:
        return None
    touch_last_used(api_key)
    return api_key


_KEY_COLUMNS = ["id", "name", "prefix", "secret_hash", "scopes", "user_id", "revoked_at", "last_used_at", "public"]
_USER_FIELDS = {"id", "username", "email", "is_active", "is_staff", "is_superuser"}
_FLAGS = {"is_active", "is_staff", "is_superuser"}


def _user_columns() -> list[str]:
    # In the model's field order: Model.from_db maps a partial row onto the fields that way.
    return [field.attname for field in get_user_model()._meta.concrete_fields if field.attname in _USER_FIELDS]


def _key_query() -> str:
    user_table = get_user_model()._meta.db_table
    return (
        f"SELECT {', '.join(f'k.{column}' for column in _KEY_COLUMNS)}, "
        f"{', '.join(f'u.{column}' for column in _user_columns())} "
        f"FROM {ApiKey._meta.db_table} k LEFT JOIN {user_table} u ON u.id = k.user_id WHERE k.prefix = %s"
    )


def _aware(moment):
    if isinstance(moment, str):  # SQLite hands back text
        moment = parse_datetime(moment)
    if moment is not None and settings.USE_TZ and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return moment


def _key_by_prefix(prefix: str) -> ApiKey | None:
    """One indexed lookup (the unique prefix) with the key's user joined in, in plain
    SQL: every API request pays for it, and compiling an ORM query would cost more than
    running it."""
    with connection.cursor() as cursor:
        cursor.execute(_key_query(), [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    values = dict(zip(_KEY_COLUMNS, row[: len(_KEY_COLUMNS)], strict=True))
    if isinstance(values["scopes"], str | bytes):  # psycopg2 hands jsonb to Django as text
        values["scopes"] = orjson.loads(values["scopes"])
    values["revoked_at"] = _aware(values["revoked_at"])
    values["last_used_at"] = _aware(values["last_used_at"])
    values["public"] = bool(values["public"])  # SQLite booleans are 0/1
    api_key = ApiKey(**values)
    if api_key.user_id is not None:
        columns = _user_columns()
        user_values = [
            bool(value) if column in _FLAGS else value  # SQLite booleans are 0/1
            for column, value in zip(columns, row[len(_KEY_COLUMNS) :], strict=True)
        ]
        # Only these fields are loaded; the others stay deferred (a save() would not
        # overwrite them with defaults).
        api_key.user = get_user_model().from_db(connection.alias, columns, user_values)
    return api_key


def touch_last_used(api_key: ApiKey) -> None:
    """Write `last_used_at` at most once a minute. The condition is in the UPDATE itself,
    so concurrent requests write it once, and a busy key costs no write per request."""
    now = timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_GRANULARITY:
        return
    ApiKey.objects.filter(pk=api_key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_GRANULARITY)
    ).update(last_used_at=now)
    api_key.last_used_at = now


def principal_for(api_key: ApiKey):
    return api_key.user if api_key.user_id is not None else ApiKeyPrincipal(api_key)


# Schemes other APIs use for keys; a client sending one meant a Funnel key.
_OTHER_KEY_SCHEMES = {b"token", b"apikey", b"api-key", b"key", b"api_key"}


def _looks_like_an_api_key_attempt(header: list[bytes]) -> bool:
    return header[0].lower() in _OTHER_KEY_SCHEMES or (len(header) == 2 and header[1].startswith(b"fk_"))


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """DRF authentication: `request.auth` is the ApiKey, `request.user` the key's user
    or an ApiKeyPrincipal. No Authorization header → not this scheme (the session may
    still authenticate a browser); a Bearer header with a bad key → 401."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != self.keyword.lower().encode():
            if _looks_like_an_api_key_attempt(header):
                scheme = header[0].decode("latin-1")
                raise exceptions.AuthenticationFailed(
                    f"The Authorization scheme is “Bearer”, not “{scheme}”: send “Authorization: Bearer <API key>”."
                )
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("The Authorization header must be “Bearer <API key>”.")
        try:
            raw = header[1].decode()
        except UnicodeError as error:
            raise exceptions.AuthenticationFailed("The API key is not valid.") from error
        api_key = find_api_key(raw)
        if api_key is None:
            wait = take_bad_key_slot(request)
            if wait is not None:
                raise exceptions.Throttled(wait=wait, detail="Too many requests with a wrong API key.")
            raise exceptions.AuthenticationFailed("The API key is not valid or was revoked.")
        return principal_for(api_key), api_key

    def authenticate_header(self, request):
        return f'{self.keyword} realm="funnel"'

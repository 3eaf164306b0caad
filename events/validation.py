"""Reading and checking ingest input without a serializer per event.

A batch of 1,000 events must be validated in a few milliseconds, so each event is
checked with plain code over the dict orjson gives us. Every problem is reported by
field name, in the shape of the API's error envelope.
"""

import gzip
import re
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from .event_types import canonical_event

MAX_BATCH_EVENTS = 1000
MAX_BODY_BYTES = 1024 * 1024
# A client's clock may run ahead; an event further in the future than this is refused.
MAX_FUTURE = timedelta(days=1)

MAX_MESSAGE_ID = 200
MAX_TYPE = 100
MAX_IDENTITY = 200
MAX_EMAIL = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# traits → Lead field, with each field's length limit (None: not a string field).
TRAIT_FIELDS: dict[str, tuple[str, int | None]] = {
    "first_name": ("first_name", 150),
    "firstName": ("first_name", 150),
    "last_name": ("last_name", 150),
    "lastName": ("last_name", 150),
    "company": ("company", 200),
    "title": ("job_title", 200),
    "job_title": ("job_title", 200),
    "jobTitle": ("job_title", 200),
    "phone": ("phone", 50),
    "country": ("country", 100),
    "company_size": ("company_size", None),
    "employees": ("company_size", None),
}


class BodyError(Exception):
    """The whole request is refused: `status` 400 (unreadable) or 413 (too large)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(slots=True)
class Event:
    """One valid event, normalised: identity, type, time, properties, lead traits."""

    message_id: str
    type: str
    occurred_at: datetime
    properties: dict
    email: str | None = None
    external_id: str | None = None
    anonymous_id: str | None = None
    traits: dict = field(default_factory=dict)
    properties_json: str = ""
    generated_id: bool = False

    @property
    def identities(self) -> tuple:
        return (self.email, self.external_id, self.anonymous_id)


def read_json_body(raw: bytes, *, content_encoding: str, limit: int):
    """Decompress (gzip/deflate) and parse a body, refusing more than `limit` bytes
    after decompression (a small gzip may hide a huge body)."""
    if len(raw) > limit:
        raise BodyError(413, "payload_too_large", f"The body is larger than {limit // 1024} KB.")
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        try:
            wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
            decompressor = zlib.decompressobj(wbits)
            raw = decompressor.decompress(raw, limit + 1)
            if len(raw) > limit or decompressor.unconsumed_tail:
                raise BodyError(413, "payload_too_large", f"The body is larger than {limit // 1024} KB.")
            if not decompressor.eof:
                raise BodyError(400, "invalid_body", "The gzip body is truncated.")
        except (zlib.error, gzip.BadGzipFile) as error:
            raise BodyError(400, "invalid_body", "The body is not valid gzip.") from error
    elif encoding not in ("", "identity"):
        raise BodyError(400, "invalid_body", f"Content-Encoding “{encoding}” is not supported (use gzip).")
    if not raw.strip():
        raise BodyError(400, "invalid_json", "The body is empty; send a JSON object.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BodyError(400, "invalid_json", f"The body is not valid JSON: {error}") from error


def split_batch(body) -> tuple[list, bool]:
    """Return (events, single): one object, or {"events": [...]} with 1–1,000 events."""
    if isinstance(body, dict) and "events" in body:
        events = body["events"]
        if not isinstance(events, list):
            raise BodyError(400, "invalid", "“events” must be a list of event objects.")
        if not events:
            raise BodyError(400, "invalid", "“events” is empty; send 1 to 1,000 events.")
        if len(events) > MAX_BATCH_EVENTS:
            raise BodyError(413, "too_many_events", f"{len(events)} events; at most {MAX_BATCH_EVENTS} a request.")
        return events, False
    if isinstance(body, dict):
        return [body], True
    raise BodyError(400, "invalid", "Send one event object or {“events”: [...]}.")


def parse_time(value, name: str, errors: dict) -> datetime | None:
    if not isinstance(value, str):
        errors[name] = ["Must be an ISO 8601 date-time string."]
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        errors[name] = [f"“{value[:40]}” is not an ISO 8601 date-time."]
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment.year < 1970:
        errors[name] = ["Must be after 1970."]
        return None
    return moment


def clean_text(value, name: str, limit: int, errors: dict, *, allow_number: bool = False) -> str | None:
    if value is None:
        return None
    if allow_number and isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value if not isinstance(value, float) or not value.is_integer() else int(value))
    if not isinstance(value, str):
        errors[name] = ["Must be a string."]
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > limit:
        errors[name] = [f"At most {limit} characters."]
        return None
    if "\x00" in value:
        errors[name] = ["Must not contain NUL characters."]
        return None
    return value


def clean_email(value, name: str, errors: dict) -> str | None:
    email = clean_text(value, name, MAX_EMAIL, errors)
    if email is None:
        return None
    if not _EMAIL.match(email):
        errors[name] = [f"“{email[:60]}” is not an email address."]
        return None
    # Lower-cased: one person, one lead, however a tool capitalises the address.
    return email.lower()


def clean_traits(traits, errors: dict, prefix: str = "traits") -> dict:
    """Lead fields from `traits` (unknown traits are ignored: they stay on the event)."""
    if traits is None:
        return {}
    if not isinstance(traits, dict):
        errors[prefix] = ["Must be an object."]
        return {}
    cleaned: dict = {}
    for key, (field_name, limit) in TRAIT_FIELDS.items():
        if key not in traits or traits[key] in (None, ""):
            continue
        value = traits[key]
        if limit is None:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000_000:
                errors[f"{prefix}.{key}"] = ["Must be a whole number between 0 and 10,000,000."]
                continue
            cleaned[field_name] = value
        else:
            if isinstance(value, dict) and key == "company":
                value = value.get("name")
            text = clean_text(value, f"{prefix}.{key}", limit, errors, allow_number=(key == "phone"))
            if text:
                cleaned[field_name] = text
    name = traits.get("name")
    if isinstance(name, str) and name.strip() and "first_name" not in cleaned and "last_name" not in cleaned:
        first, _, last = name.strip().partition(" ")
        cleaned["first_name"], cleaned["last_name"] = first[:150], last.strip()[:150]
    return cleaned


def properties_json(properties, name: str, errors: dict) -> str:
    if not isinstance(properties, dict):
        errors[name] = ["Must be an object."]
        return "{}"
    try:
        text = orjson.dumps(properties).decode()
    except TypeError as error:  # cannot happen for parsed JSON, but never a 500
        errors[name] = [str(error)]
        return "{}"
    # PostgreSQL's jsonb cannot hold U+0000.
    if "\\u0000" in text:
        errors[name] = ["Must not contain NUL characters."]
        return "{}"
    return text


def validate_event(data, *, now: datetime) -> tuple[Event | None, str | None, dict]:
    """Check one native event. Returns (event or None, message_id as given, errors)."""
    errors: dict = {}
    if not isinstance(data, dict):
        return None, None, {"non_field_errors": ["Each event must be a JSON object."]}
    message_id = clean_text(data.get("message_id"), "message_id", MAX_MESSAGE_ID, errors)
    event_type = clean_text(data.get("type"), "type", MAX_TYPE, errors)
    if event_type is None and "type" not in errors:
        errors["type"] = ["This field is required."]
    email = clean_email(data.get("email"), "email", errors)
    external_id = clean_text(data.get("external_id"), "external_id", MAX_IDENTITY, errors, allow_number=True)
    anonymous_id = clean_text(data.get("anonymous_id"), "anonymous_id", MAX_IDENTITY, errors, allow_number=True)
    traits = clean_traits(data.get("traits"), errors)
    raw_traits = data.get("traits") if isinstance(data.get("traits"), dict) else {}
    if email is None and raw_traits.get("email") not in (None, "") and "email" not in errors:
        email = clean_email(raw_traits.get("email"), "traits.email", errors)
    if not (email or external_id or anonymous_id) and not {"email", "external_id", "anonymous_id"} & errors.keys():
        errors["identity"] = ["Give at least one of email, external_id or anonymous_id."]
    props = data.get("properties")
    if event_type is not None:
        event_type, props = canonical_event(event_type, props)
    props_text = properties_json({} if props is None else props, "properties", errors)
    occurred_at = now
    if data.get("occurred_at") not in (None, ""):
        occurred_at = parse_time(data["occurred_at"], "occurred_at", errors)
        if occurred_at is not None and occurred_at > now + MAX_FUTURE:
            errors["occurred_at"] = ["Is too far in the future (more than a day ahead)."]
    if errors:
        return None, message_id, errors
    return (
        Event(
            message_id=message_id or f"gen-{uuid.uuid4()}",
            generated_id=message_id is None,
            type=event_type,
            occurred_at=occurred_at,
            properties={} if props is None else props,
            properties_json=props_text,
            email=email,
            external_id=external_id,
            anonymous_id=anonymous_id,
            traits=traits,
        ),
        message_id,
        {},
    )

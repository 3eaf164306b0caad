"""Segment's HTTP tracking API, so Segment's and RudderStack's SDKs deliver to Funnel
with a Funnel key as their write key.

Plain Django views (not DRF): the browser SDK posts `text/plain` JSON with the
`writeKey` in the body, and the reply every SDK expects is `200 {"success": true}`.
"""

import base64
import binascii
import uuid
from datetime import UTC, datetime

import orjson
from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from funnel.api_errors import error_body
from leads import access

from .api import json_response, read_request_json
from .auth import find_api_key
from .event_types import canonical_event
from .intake import accept_events
from .models import EventSource, Scope
from .throttling import take_bad_key_slot, take_request_slot
from .validation import (
    MAX_FUTURE,
    MAX_IDENTITY,
    MAX_MESSAGE_ID,
    MAX_TYPE,
    BodyError,
    Event,
    clean_email,
    clean_text,
    clean_traits,
    parse_time,
    properties_json,
)

# Segment's published limits.
MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
# The lower bound of a clock-skew-corrected time.
EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=UTC)

CALLS = {"identify", "track", "page", "screen", "group", "alias"}
SHORT_FORMS = {"i": "identify", "t": "track", "p": "page", "s": "screen", "g": "group", "a": "alias", "b": "batch"}


def _allowed_origin(origin: str) -> bool:
    allowed = settings.FUNNEL_CORS_ORIGINS
    return "*" in allowed or origin in allowed


def _with_cors(response: HttpResponse, origin: str) -> HttpResponse:
    if origin and _allowed_origin(origin):
        response["Access-Control-Allow-Origin"] = origin
        response["Vary"] = "Origin"
    return response


def _error(status: int, code: str, message: str, fields: dict | None = None, **headers) -> HttpResponse:
    response = json_response(error_body(code, message, fields), status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _write_key(request, body) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:6].lower() == "basic ":
        try:
            user, _, _password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return user
    if isinstance(body, dict) and isinstance(body.get("writeKey"), str):
        return body["writeKey"]
    return ""


@csrf_exempt
def segment_endpoint(request, call: str):
    origin = request.META.get("HTTP_ORIGIN", "")
    if origin and not _allowed_origin(origin):
        return _error(403, "origin_not_allowed", f"Origin {origin} is not in FUNNEL_CORS_ORIGINS.")
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Content-Encoding"
        response["Access-Control-Max-Age"] = "86400"
        return _with_cors(response, origin)
    return _with_cors(_handle(request, SHORT_FORMS.get(call, call)), origin)


def view_for(call: str):
    """The view for one path: `call` is fixed here because api_path passes no kwargs."""

    @csrf_exempt
    def view(request):
        return segment_endpoint(request, call)

    view.__name__ = f"segment_{call}"
    return view


def _handle(request, call: str) -> HttpResponse:
    if request.method != "POST":
        return _error(405, "method_not_allowed", "Use POST.", Allow="POST, OPTIONS")
    limit = MAX_BATCH_BYTES if call == "batch" else MAX_MESSAGE_BYTES
    try:
        body = read_request_json(request, limit=limit)
    except BodyError as error:
        return _error(error.status, error.code, error.message)
    if not isinstance(body, dict):
        return _error(400, "invalid", "The body must be a JSON object.")

    api_key = find_api_key(_write_key(request, body))
    if api_key is None:
        wait = take_bad_key_slot(request)
        if wait is not None:
            return _error(429, "throttled", "Too many requests with a wrong API key.", Retry_After=str(int(wait)))
        return _error(
            401,
            "not_authenticated",
            "Send a Funnel API key as the write key (Basic auth user name or writeKey).",
            WWW_Authenticate='Bearer realm="funnel"',
        )
    if not access.principal_for_key(api_key).allows(Scope.EVENTS_WRITE):
        return _error(403, "missing_scope", "This API key may not write events (scope events:write).")
    wait = take_request_slot(api_key)
    if wait is not None:
        return _error(429, "throttled", "Too many requests for this key.", Retry_After=str(int(wait)))

    received_at = timezone.now()
    if call == "batch":
        messages = body.get("batch")
        if not isinstance(messages, list) or not messages:
            return _error(400, "invalid", "“batch” must be a non-empty list of messages.", {"batch": ["Required."]})
    else:
        messages = [{**body, "type": body.get("type") or call}]
    batch_sent_at = body.get("sentAt")

    events: list[Event] = []
    fields: dict = {}
    for index, message in enumerate(messages):
        prefix = f"batch.{index}." if call == "batch" else ""
        errors: dict = {}
        if call == "batch" and len(_encoded(message)) > MAX_MESSAGE_BYTES:
            return _error(413, "payload_too_large", f"Message {index} is larger than 32 KB.")
        event = to_event(message, received_at=received_at, batch_sent_at=batch_sent_at, errors=errors)
        if event is None:
            fields.update({f"{prefix}{name}": problems for name, problems in errors.items()})
        else:
            events.append(event)
    accept_events(events=events, source=EventSource.SEGMENT, api_key=api_key)
    if fields:
        first = next(iter(fields))
        return _error(400, "invalid", f"{first}: {fields[first][0]}", fields)
    return json_response({"success": True}, 200)


def _encoded(message) -> bytes:
    try:
        return orjson.dumps(message)
    except TypeError:
        return b""


def _corrected_time(message, *, received_at: datetime, batch_sent_at, errors: dict) -> datetime | None:
    """Segment's clock-skew correction: receivedAt − (sentAt − timestamp)."""
    raw = message.get("timestamp") or message.get("originalTimestamp")
    if raw in (None, ""):
        return received_at
    timestamp = parse_time(raw, "timestamp", errors)
    sent_raw = message.get("sentAt") or batch_sent_at
    sent_at = parse_time(sent_raw, "sentAt", errors) if sent_raw not in (None, "") else None
    if timestamp is None or errors:
        return None
    try:
        occurred = received_at - (sent_at - timestamp) if sent_at is not None else timestamp
    except OverflowError:
        errors["timestamp"] = ["With sentAt, this timestamp falls outside the calendar."]
        return None
    if occurred > received_at + MAX_FUTURE:
        errors["timestamp"] = ["Is too far in the future (more than a day ahead)."]
        return None
    if occurred < EARLIEST_EVENT:
        # No lead predates 2000: a skew this large is a broken clock, not a late event.
        errors["timestamp"] = ["With sentAt, this timestamp falls before 2000: check the client's clock."]
        return None
    return occurred


def to_event(message, *, received_at: datetime, batch_sent_at=None, errors: dict) -> Event | None:
    """One Segment message as a Funnel event, or None with `errors` filled in."""
    if not isinstance(message, dict):
        errors["message"] = ["Must be a JSON object."]
        return None
    call = message.get("type")
    if not isinstance(call, str) or call not in CALLS:
        errors["type"] = [f"Must be one of {', '.join(sorted(CALLS))}."]
        return None
    message_id = clean_text(message.get("messageId"), "messageId", MAX_MESSAGE_ID, errors)
    user_id = clean_text(message.get("userId"), "userId", MAX_IDENTITY, errors, allow_number=True)
    anonymous_id = clean_text(message.get("anonymousId"), "anonymousId", MAX_IDENTITY, errors, allow_number=True)
    traits_in = message.get("traits")
    if traits_in is None and isinstance(message.get("context"), dict):
        traits_in = message["context"].get("traits")
    raw_traits = traits_in if isinstance(traits_in, dict) else {}
    email = clean_email(raw_traits.get("email"), "traits.email", errors) if raw_traits.get("email") else None
    traits = clean_traits(traits_in, errors) if call == "identify" else {}
    properties = message.get("properties")
    properties = {} if properties is None else properties
    if call == "track":
        event_type = clean_text(message.get("event"), "event", MAX_TYPE, errors)
        if event_type is None and "event" not in errors:
            errors["event"] = ["A track call needs its event name."]
        elif event_type is not None:
            event_type, properties = canonical_event(event_type, properties)
    elif call == "page":
        event_type = "page_view"
        if isinstance(properties, dict) and message.get("name") and "name" not in properties:
            properties = {**properties, "name": message["name"]}
    elif call == "screen":
        event_type = "screen_view"
        if isinstance(properties, dict) and message.get("name") and "name" not in properties:
            properties = {**properties, "name": message["name"]}
    elif call == "identify":
        event_type, properties = "identify", raw_traits
    elif call == "group":
        event_type = "group"
        properties = {"group_id": message.get("groupId"), "traits": raw_traits}
    else:  # alias: the previous id (a browser's anonymous id) now belongs to userId
        event_type = "alias"
        previous = clean_text(message.get("previousId"), "previousId", MAX_IDENTITY, errors, allow_number=True)
        if previous is None and "previousId" not in errors:
            errors["previousId"] = ["An alias call needs previousId."]
        anonymous_id, properties = previous, {"previous_id": previous}
    if not (user_id or anonymous_id) and "userId" not in errors and "anonymousId" not in errors:
        errors["userId"] = ["Give userId or anonymousId."]
    props_text = properties_json(properties, "properties", errors)
    occurred_at = _corrected_time(message, received_at=received_at, batch_sent_at=batch_sent_at, errors=errors)
    if errors:
        return None
    return Event(
        message_id=message_id or f"gen-{uuid.uuid4()}",
        generated_id=message_id is None,
        type=event_type,
        occurred_at=occurred_at,
        properties=properties,
        properties_json=props_text,
        email=email,
        external_id=user_id,
        anonymous_id=anonymous_id,
        traits=traits,
    )

"""A required service that is down answers 503 with Retry-After, never a 500 with a trace
(CONTRACT.md, Errors): API paths get the error envelope, people get a short page.

Which failures count: the database unreachable, its connection dropped or terminated,
a server that refuses writes for now (read-only, disk full, too many connections, shutting
down), and the broker or cache (Redis) unreachable where a request cannot do without it.
Everything else stays a 500: a bug is not an outage."""

import logging

from django.db import InterfaceError, OperationalError
from django.db import utils as db_utils
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from .api_errors import error_body

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5

# SQLSTATEs of a database that is there but cannot take the work right now.
_UNAVAILABLE_SQLSTATES = {
    "25006",  # read_only_sql_transaction: a read-only database (standby, disk protection)
    "53100",  # disk_full
    "53200",  # out_of_memory
    "53300",  # too_many_connections
    "57P01",  # admin_shutdown: our backend was terminated (pg_terminate_backend)
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now: starting up or shutting down
}


def _driver_errors() -> tuple[type[BaseException], ...]:
    """The driver's own classes: the set-based paths run statements on psycopg2's cursor
    (events/ingest_pg.py), whose errors Django does not wrap."""
    try:
        import psycopg2
    except ImportError:  # SQLite only
        return ()
    return (psycopg2.OperationalError, psycopg2.InterfaceError)


def _driver_base() -> tuple[type[BaseException], ...]:
    try:
        import psycopg2
    except ImportError:
        return ()
    return (psycopg2.Error,)


DRIVER_ERRORS = _driver_errors()
DRIVER_BASE = _driver_base()


def _broker_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = []
    try:
        from kombu.exceptions import OperationalError as KombuOperationalError

        errors.append(KombuOperationalError)
    except ImportError:  # pragma: no cover - kombu comes with celery
        pass
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        errors.extend([RedisConnectionError, RedisTimeoutError])
    except ImportError:  # pragma: no cover - redis is a dependency
        pass
    return tuple(errors)


BROKER_ERRORS = _broker_errors()


def unavailable_service(exc: BaseException | None) -> str | None:
    """'database' or 'broker' when `exc` means that service is down, else None."""
    if exc is None:
        return None
    if isinstance(exc, (OperationalError, InterfaceError, *DRIVER_ERRORS)):
        return "database"
    if isinstance(exc, (db_utils.DatabaseError, *DRIVER_BASE)):
        cause = exc.__cause__ if isinstance(exc, db_utils.DatabaseError) else exc
        if getattr(cause, "pgcode", None) in _UNAVAILABLE_SQLSTATES:
            return "database"
    if BROKER_ERRORS and isinstance(exc, BROKER_ERRORS):
        return "broker"
    return None


def is_api_path(path: str) -> bool:
    return path.startswith(("/api/", "/v1/"))


def service_unavailable_response(request, service: str) -> HttpResponse:
    message = f"The {service} is not reachable right now; try again in a few seconds."
    if is_api_path(request.path):
        response = JsonResponse(error_body("service_unavailable", message, service=service), status=503)
    else:
        # Rendered without the request: the context processors would ask the database.
        html = render_to_string("503.html", {"service": service, "retry_after": RETRY_AFTER_SECONDS})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class ServiceUnavailableMiddleware:
    """Turns a view's service-down exception into a 503 (in DEBUG too, where Django
    would otherwise show its trace page). A middleware's own failure reaches the
    handler500 view, which makes the same decision (funnel.views.server_error)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        service = unavailable_service(exception)
        if service is None:
            return None
        logger.warning("%s unavailable during %s %s: %s", service, request.method, request.path, exception)
        return service_unavailable_response(request, service)

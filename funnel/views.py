import sys

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import Resolver404
from django.views import defaults

from leads.access import home_url_name

from .api_errors import json_not_found, json_server_error
from .unavailable import service_unavailable_response, unavailable_service


@login_required
def home(request):
    return redirect(home_url_name(request.user))


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def _is_api(request) -> bool:
    return request.path.startswith(("/api/", "/v1/"))


def _reason(exception, fallback: str) -> str:
    """The sentence the code gave when it refused (PermissionDenied("Only marketers…")),
    not Django's internals (a Resolver404's dict of tried patterns)."""
    if exception is None or isinstance(exception, Resolver404) or not exception.args:
        return fallback
    reason = exception.args[0]
    return reason if isinstance(reason, str) and reason else fallback


def error_page(request, *, status: int, exception=None) -> HttpResponse:
    """The styled 403/404 page: the site's header and navigation, and the reason."""
    fallback = {
        403: "Your account may not do this.",
        404: f"There is no page at {request.path}.",
    }[status]
    response = render(request, f"{status}.html", {"reason": _reason(exception, fallback)}, status=status)
    response.funnel_error_page = True
    return response


def not_found(request, exception=None):
    """API clients get the error envelope for a path no route matches; people get a page."""
    if _is_api(request):
        return json_not_found(request, exception)
    return error_page(request, status=404, exception=exception)


def permission_denied(request, exception=None):
    if _is_api(request):
        return defaults.permission_denied(request, exception)
    return error_page(request, status=403, exception=exception)


def server_error(request):
    # Django calls this inside its `except`: a middleware that failed because the
    # database or broker is down is an outage (503), not a bug (500).
    service = unavailable_service(sys.exc_info()[1])
    if service is not None:
        return service_unavailable_response(request, service)
    if _is_api(request):
        return json_server_error(request)
    return defaults.server_error(request)


def favicon(request):
    """Browsers ask for /favicon.ico whatever a page says; send them to the icon. The
    static URL is resolved per request: in production it names the hashed file."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))

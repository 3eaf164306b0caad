import sys

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views import defaults

from .api_errors import json_not_found, json_server_error
from .roles import home_url_name
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


def not_found(request, exception=None):
    """API clients get the error envelope for a path no route matches; people get a page."""
    if _is_api(request):
        return json_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def server_error(request):
    # Django calls this inside its `except`: a middleware that failed because the
    # database or broker is down is an outage (503), not a bug (500).
    service = unavailable_service(sys.exc_info()[1])
    if service is not None:
        return service_unavailable_response(request, service)
    if _is_api(request):
        return json_server_error(request)
    return defaults.server_error(request)

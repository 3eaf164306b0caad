import logging
import zoneinfo

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseServerError
from django.template.loader import render_to_string
from django.utils import timezone

from .api_errors import json_not_found
from .views import error_page

logger = logging.getLogger(__name__)
API_PREFIXES = ("/api/", "/v1/")


class UserTimezoneMiddleware:
    """Stored times are UTC; pages show them in the zone the browser reports
    (a `tz` cookie set by static/funnel.js)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = request.COOKIES.get("tz", "")
        try:
            timezone.activate(zoneinfo.ZoneInfo(name)) if name else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        return self.get_response(request)


class ErrorPagesMiddleware:
    """People see Funnel's own 404 and 500 pages under DEBUG too (`make run`), not
    Django's debug pages: a 404 there lists the URL patterns and a 500 a traceback,
    neither of which tells a marketer where to go. The traceback still goes to the
    console log. API paths keep their JSON errors."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and not getattr(response, "funnel_error_page", False)
            and "text/html" in response.get("Content-Type", "")
        ):
            if request.path.startswith(API_PREFIXES):
                return json_not_found(request, None)
            return error_page(request, status=404, exception=getattr(request, "funnel_exception", None))
        return response

    def process_exception(self, request, exception):
        if not settings.DEBUG or request.path.startswith(API_PREFIXES):
            return None
        if isinstance(exception, Http404):
            request.funnel_exception = exception  # its sentence becomes the page's reason
            return None
        if isinstance(exception, PermissionDenied):
            return None  # handler403 renders the styled page under DEBUG already
        logger.exception("Server error on %s", request.path, exc_info=exception)
        response = HttpResponseServerError(render_to_string("500.html"))
        response.funnel_error_page = True
        return response

import zoneinfo

from django.utils import timezone


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

"""Per-key rate limits: a fixed window counted in the cache (Redis when REDIS_URL is
set, the local cache otherwise) with atomic increments, so concurrent requests on
several workers count exactly, with no read-then-write."""

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from .models import ApiKey

logger = logging.getLogger(__name__)


def take_request_slot(api_key: ApiKey) -> float | None:
    """Count one request for this key; None if allowed, else seconds until the window ends."""
    limit = settings.FUNNEL_API_RATE_LIMIT
    window = max(1, settings.FUNNEL_API_RATE_WINDOW)
    now = time.time()
    slot = int(now // window)
    key = f"funnel:rate:{api_key.prefix}:{slot}"
    # add() is atomic (SET NX on Redis): the first request of a window creates the
    # counter; every other one increments it (INCR). The counter expires with its window.
    if cache.add(key, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, timeout=window + 1)
            count = 1
    if count <= limit:
        return None
    return max(1.0, math.ceil((slot + 1) * window - now))


class ApiKeyRateThrottle(BaseThrottle):
    """Limits API-key requests only; browser sessions are people clicking."""

    def allow_request(self, request, view) -> bool:
        if not isinstance(request.auth, ApiKey):
            return True
        try:
            self._wait = take_request_slot(request.auth)
        except Exception:  # noqa: BLE001 - the cache (Redis) is down
            # Events are stored in the database; a missing counter must not refuse them
            # (CONTRACT.md: the broker is only a doorbell). The limit holds again when it is back.
            logger.warning("Rate limit counter unreachable; letting the request through.")
            self._wait = None
        return self._wait is None

    def wait(self):
        return getattr(self, "_wait", None)

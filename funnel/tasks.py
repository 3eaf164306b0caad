from celery import shared_task
from django.core.cache import cache


@shared_task(name="funnel.heartbeat")
def heartbeat(token: str) -> str:
    """Leave `token` where the sender can see it: proves a worker took the task."""
    cache.set(f"heartbeat:{token}", "seen", timeout=300)
    return token

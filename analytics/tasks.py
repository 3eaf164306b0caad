from celery import shared_task

from . import services


@shared_task(name="analytics.refresh", ignore_result=True)
def refresh_analytics() -> None:
    services.refresh_analytics()

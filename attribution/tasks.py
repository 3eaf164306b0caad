from celery import shared_task

from . import services


@shared_task(name=services.REFRESH_TASK, ignore_result=True)
def refresh_attribution_task() -> None:
    services.run_requested_refresh()

from celery import shared_task

from . import services


@shared_task(name="analytics.refresh", ignore_result=True)
def refresh_analytics() -> None:
    services.refresh_analytics()


@shared_task(name=services.PREVIEW_TASK, ignore_result=True)
def run_rule_preview(preview_id: int) -> None:
    services.run_rule_preview(preview_id=preview_id)

from celery import shared_task


@shared_task(name="leads.import_leads", ignore_result=True)
def import_leads(job_id: int) -> None:
    from .imports import run_import

    run_import(job_id=job_id)


@shared_task(name="leads.compact_pipeline_counts", ignore_result=True)
def compact_pipeline_counts() -> None:
    from .services import compact_pipeline_counts as compact

    compact()

from celery import shared_task

from . import imports, pipeline_counts


@shared_task(name="leads.import_leads", ignore_result=True)
def import_leads(job_id: int) -> None:
    imports.run_import(job_id=job_id)


@shared_task(name="leads.compact_pipeline_counts", ignore_result=True)
def compact_pipeline_counts() -> None:
    pipeline_counts.compact_pipeline_counts()

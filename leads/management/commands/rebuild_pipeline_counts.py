from django.core.management.base import BaseCommand

from leads.services import rebuild_pipeline_counts


class Command(BaseCommand):
    help = "Recount the pipeline board's summary table from the leads (after a bulk load, or to repair drift)."

    def handle(self, *args, **options):
        buckets = rebuild_pipeline_counts()
        self.stdout.write(f"Pipeline counts rebuilt: {buckets} buckets.")

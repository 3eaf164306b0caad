from django.core.management.base import BaseCommand

from analytics.services import refresh_analytics


class Command(BaseCommand):
    help = "Rebuild the funnel report's summary tables now (beat does it every few minutes)."

    def handle(self, *args, **options):
        state = refresh_analytics()
        self.stdout.write(f"Analytics summaries rebuilt in {state.duration_ms} ms.")

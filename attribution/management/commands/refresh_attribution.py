from django.core.management.base import BaseCommand

from attribution.services import refresh_attribution


class Command(BaseCommand):
    help = "Rebuild the attribution credits now (beat does it every few minutes, and a won deal asks for it)."

    def handle(self, *args, **options):
        state = refresh_attribution()
        self.stdout.write(f"Attribution credits rebuilt in {state.duration_ms} ms.")

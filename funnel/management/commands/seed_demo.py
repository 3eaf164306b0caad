from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from analytics.demo import build_demo_summaries
from attribution.demo import build_demo_attribution, load_demo_attribution
from funnel.demo_data import DemoRulesMissing, load_demo
from scoring.likelihood.jobs import start_training_unless_trained


class Command(BaseCommand):
    help = "Load the demo users and months of realistic funnel history (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--leads", type=int, default=2400)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, leads, seed, **options):
        try:
            loaded = load_demo(leads=leads, seed=seed, password=settings.FUNNEL_DEMO_PASSWORD)
        except DemoRulesMissing as missing:
            raise CommandError(str(missing)) from missing
        if loaded["leads"]:
            loaded.update({f"attribution {name}": count for name, count in load_demo_attribution(seed=seed).items()})
            build_demo_summaries()
            build_demo_attribution()
            summary = ", ".join(f"{count} {name}" for name, count in loaded.items())
            self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {summary}."))
        else:
            self.stdout.write("Demo data already loaded; users and passwords refreshed.")
        # The likelihood model trains in the background (a worker picks it up as `make run` starts).
        if start_training_unless_trained(cause="demo data"):
            self.stdout.write("Likelihood model: training queued for the worker.")

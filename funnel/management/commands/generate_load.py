import sys

from django.core.management.base import BaseCommand

from funnel.load import generate_load


class Command(BaseCommand):
    help = "Write N synthetic leads and M events (COPY on PostgreSQL) for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--leads", type=int, required=True)
        parser.add_argument("--events", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, leads, events, seed, **options):
        def progress(what, done, total):
            sys.stderr.write(f"\r{what}: {done}/{total} ({100 * done // max(total, 1)}%)")
            if done == total:
                sys.stderr.write("\n")

        written = generate_load(leads=leads, events=events, seed=seed, progress=progress)
        self.stdout.write(f"Wrote {written['leads']} leads and {written['events']} events.")

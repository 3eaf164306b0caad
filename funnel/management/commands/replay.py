from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from funnel.replay import ReplayRefused, replay


class Command(BaseCommand):
    help = (
        "Rebuild the database of DATABASE_URL (empty or new) from another Funnel database's events and "
        "people's decisions in time order, then compare scores, system-made transitions and alerts lead by "
        "lead. The last line is the share of leads that match, e.g. `identical 1.000`."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="source", required=True, help="The source's PostgreSQL URL.")

    def handle(self, *args, source: str, **options):
        if not source.startswith(("postgres://", "postgresql://")):
            raise CommandError("--from takes a PostgreSQL URL (postgres://user@host:port/name).")
        call_command("migrate", verbosity=0)
        try:
            result = replay(source_url=source, say=self.stdout.write)
        except ReplayRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        for line in result.differences:
            self.stdout.write(f"  {line}")
        if result.differing_parts:
            parts = ", ".join(f"{name} {count:,}" for name, count in result.differing_parts.most_common())
            self.stdout.write(f"leads differing, by what differs: {parts}")
        self.stdout.write(f"leads compared {result.leads:,}, identical {result.identical:,}")
        self.stdout.write(f"identical {result.ratio:.3f}")

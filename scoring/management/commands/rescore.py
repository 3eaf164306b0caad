"""`python manage.py rescore [--all]`: rescore marked leads (or every lead) now, from a
shell, through the same services the workers run, with a progress bar."""

import time

from django.core.management.base import BaseCommand

from scoring import services
from scoring.models import RescoreMark


def progress_bar(done: int, total: int, *, width: int = 40) -> str:
    share = 1.0 if not total else min(1.0, done / total)
    filled = round(width * share)
    return f"[{'#' * filled}{'.' * (width - filled)}] {share:6.1%} {done:,}/{total:,}"


class Command(BaseCommand):
    help = "Rescore the leads marked for rescoring, or every lead with --all."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Rescore every lead (as after a rule change).")
        parser.add_argument("--batch", type=int, default=None, help="Leads per transaction.")

    def handle(self, *args, **options):
        started = time.monotonic()
        if options["all"]:
            job = services.start_full_rescore(cause="rescore --all", enqueue=False)
            self._draw(0, job.total)
            while True:
                current = services.run_rescore_job_batch(job_id=job.pk, batch_size=options["batch"])
                if current is None:
                    break
                self._draw(current.done, current.total)
            job.refresh_from_db()
            self._draw(job.done, job.total, final=True)
            done = job.done
        else:
            total = RescoreMark.pending().count()
            done = 0
            self._draw(0, total)
            while True:
                # Claimed as a worker would, so a running worker and this command share the work.
                rescored = services.rescore_marked_leads(budget_seconds=0, chunk=options["batch"], ring=False)
                if not rescored:
                    break
                done += rescored
                self._draw(done, max(total, done))
            self._draw(done, max(total, done), final=True)
        self.stdout.write(self.style.SUCCESS(f"Rescored {done:,} leads in {time.monotonic() - started:.1f} s."))

    def _draw(self, done: int, total: int, *, final: bool = False) -> None:
        self.stdout.write("\r" + progress_bar(done, total), ending="\n" if final else "")
        self.stdout.flush()

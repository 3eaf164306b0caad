"""Run as a separate process by test_intake.py: drain the intake at an agreed moment,
print how many events this process processed. Not a test module."""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "funnel.settings")

import django  # noqa: E402

django.setup()

from events.processing import process_all_incoming_events  # noqa: E402

if __name__ == "__main__":
    time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
    sys.stdout.write(str(process_all_incoming_events()))

"""Run as a separate process by test_concurrency.py: ingest one batch from a JSON file
at an agreed moment, print the reply. Not a test module."""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "funnel.settings")

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402

from events.services import ingest_batch  # noqa: E402

if __name__ == "__main__":
    batch_path, start_at = sys.argv[1], float(sys.argv[2])
    items = orjson.loads(Path(batch_path).read_bytes())
    time.sleep(max(0.0, start_at - time.time()))
    reply = ingest_batch(items=items, api_key=None)
    sys.stdout.write(orjson.dumps({k: reply[k] for k in ("accepted", "duplicates", "rejected")}).decode())

"""Starting and stopping the real server (gunicorn, 2 workers) for the benchmarks.
Files starting with "_" are helpers: bench/run_all.py does not run them."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def start_gunicorn(*, port: int, env: dict, name: str, extra_args: tuple = ()) -> subprocess.Popen:
    """gunicorn with 2 workers on 127.0.0.1:port, ready when /healthz answers 200."""
    log_path = ROOT / "var" / f"bench-{name}-gunicorn-{port}.log"
    log_path.parent.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "gunicorn", "funnel.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [*command, "--log-level", "warning", *extra_args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except requests.RequestException:
            time.sleep(0.2)
    stop_server(server)
    sys.exit(f"gunicorn did not come up on port {port}; see {log_path}")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()

"""A small webhook receiver for tests: verifies `Funnel-Signature` the way a customer's
server would, with the documented `verify_signature`, and answers 400 to a bad one."""

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson

from sales.webhooks import SIGNATURE_HEADER, verify_signature


class Receiver:
    def __init__(self, secret: str = ""):
        self.secret = secret
        self.received: list[dict] = []  # verified bodies, parsed
        self.refused: list[bytes] = []
        self.fail_next = 0  # answer 500 to this many valid deliveries first
        self.server = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/funnel"

    def handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if not verify_signature(receiver.secret, self.headers.get(SIGNATURE_HEADER, ""), body):
                    receiver.refused.append(body)
                    self._answer(400)
                    return
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    self._answer(500)
                    return
                receiver.received.append(orjson.loads(body))
                self._answer(200)

            def _answer(self, status: int):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler


@contextmanager
def running_receiver(secret: str = ""):
    receiver = Receiver(secret)
    receiver.server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.handler())
    thread = threading.Thread(target=receiver.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()

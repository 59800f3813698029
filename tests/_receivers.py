"""Real receivers on 127.0.0.1 for the delivery tests: an HTTP server that records every request
and answers as told, and an SMTP server (aiosmtpd) that keeps every message."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """An HTTP receiver: ``replies`` is a list of (status, body dict) used in turn (the last one
    repeats); ``never_answers`` makes it accept each request, read it and answer nothing until the
    receiver is closed (the client's own timeout is what ends the wait)."""

    def __init__(self, replies=((200, {"errcode": 0, "errmsg": "ok"}),), never_answers: bool = False):
        self.replies = list(replies)
        self.never_answers = never_answers
        self.closed = threading.Event()
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if receiver.never_answers:
                    receiver.closed.wait()  # no reply at all, until the receiver is closed
                    return
                k = min(len(receiver.requests), len(receiver.replies)) - 1
                status, reply = receiver.replies[k]
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def json(self, i: int = -1) -> dict:
        return json.loads(self.requests[i]["body"].decode("utf-8"))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def smtp_server():
    """A real SMTP server on 127.0.0.1 (aiosmtpd); yields (port, messages: list of envelopes)."""
    from aiosmtpd.controller import Controller

    messages = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            messages.append(envelope)
            return "250 OK"

    port = free_port()
    ctl = Controller(Handler(), hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield port, messages
    finally:
        ctl.stop()

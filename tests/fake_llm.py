"""A fake OpenAI-compatible chat-completions server on 127.0.0.1, for the tests of every
feature that may call an LLM (message drafts, the service assistant)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeLLM:
    """Counts requests; replies with ``content`` (or ``status``) per request."""

    def __init__(self, content: str = "", status: int = 200, raw: bytes | None = None):
        self.content, self.status, self.raw = content, status, raw
        self.requests: list[dict] = []
        self.auth: list[str | None] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, **body})
                fake.auth.append(self.headers.get("Authorization"))
                if fake.status != 200:
                    self.send_error(fake.status)
                    return
                reply = (
                    fake.raw
                    or json.dumps(
                        {"choices": [{"message": {"role": "assistant", "content": fake.content}}]}
                    ).encode()
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

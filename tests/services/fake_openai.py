"""A small OpenAI-compatible chat completions server on loopback, for the LLM tests.

It answers the capital questions of :mod:`tests.services.llm_fixtures`: right
when the system prompt asks for the capital, wrong otherwise; as a judge (a
system prompt about grading) it gives 5 when the answer holds the reference's
last word and 1 otherwise. Every request body is kept for assertions.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CAPITALS = {
    "France": "Paris",
    "Germany": "Berlin",
    "Italy": "Rome",
    "Spain": "Madrid",
    "Portugal": "Lisbon",
}


def _answer(messages: list[dict[str, Any]]) -> str:
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    user = messages[-1]["content"]
    if "grade" in system:
        reference = user.split("Reference answer:\n", 1)[-1].split("\n")[0]
        answer = user.split("Answer to grade:\n", 1)[-1]
        word = reference.strip(" .").split()[-1]
        return json.dumps({"score": 5 if word in answer else 1, "reason": "compared"})
    country = next((c for c in CAPITALS if c in user), None)
    if "capital" in system and country:
        return CAPITALS[country]
    return "I'm sorry, but I can't help with that." if country == "Germany" else "Somewhere"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(  # type: ignore[attr-defined]
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        text = _answer(body["messages"])
        prompt = sum(len(m["content"].split()) for m in body["messages"])
        reply = json.dumps(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": prompt, "completion_tokens": len(text.split())},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@contextmanager
def fake_openai() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The server's base URL (ending in ``/v1``) and the list its requests are appended to."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", server.requests  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

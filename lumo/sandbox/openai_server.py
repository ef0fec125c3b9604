"""An OpenAI-compatible stand-in that plays scripted assistant turns and records requests.

`POST /v1/chat/completions` answers with the real response shape (`choices[0].message` with
`content` or `tool_calls`, `finish_reason`, `usage`). Each test gives a script: a list of
turns, each one of

    {"content": "text"}                                   a plain answer
    {"tool_calls": [{"name": "count_segment", "arguments": {...}}]}
    {"tool_calls": [{"name": "answer", "arguments_raw": "{not json"}]}   malformed arguments
    {"fault": "500"} | {"fault": "timeout", "seconds": 3} | {"fault": "malformed"}

Every request body is recorded (`requests`) so a test can prove what was sent to the model.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from typing import Any

from werkzeug.wrappers import Request, Response

from lumo.sandbox.serving import RunningServer, serve_wsgi

logger = logging.getLogger(__name__)


class OpenAISandbox:
    """Start with `start()`; point `OPENAI_BASE_URL` at `base_url`; stop with `stop()`."""

    def __init__(self, script: list[dict[str, Any]] | None = None) -> None:
        self._script: deque[dict[str, Any]] = deque(script or [])
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self.server: RunningServer | None = None
        self._calls = 0

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> OpenAISandbox:
        self.server = serve_wsgi(self.wsgi_app, host, port, name="openai-sandbox")
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> OpenAISandbox:
        return self.start() if self.server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self.server is None:
            raise RuntimeError("Start the OpenAI sandbox before asking for its URL.")
        return f"{self.server.url}/v1"

    # -- scripting ------------------------------------------------------------------------------

    def play(self, turns: list[dict[str, Any]]) -> None:
        """Replace the script with `turns` and forget recorded requests."""
        with self._lock:
            self._script = deque(turns)
            self.requests.clear()

    def sent_text(self) -> str:
        """Everything sent to the model so far, as one string (for "never sent" checks)."""
        return "\n".join(json.dumps(body, ensure_ascii=False) for body in self.requests)

    # -- serving --------------------------------------------------------------------------------

    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        if request.method == "GET" and request.path == "/v1/models":
            return _json({"object": "list", "data": [{"id": "lumo-sandbox", "object": "model"}]})
        if request.method != "POST" or request.path != "/v1/chat/completions":
            return _json(
                {"error": {"message": "Unknown path", "type": "invalid_request_error"}}, 404
            )
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return _json(
                {"error": {"message": "Body is not JSON", "type": "invalid_request_error"}}, 400
            )
        with self._lock:
            self.requests.append(body)
            turn = self._script.popleft() if self._script else {"content": "Done."}
            self._calls += 1
            number = self._calls
        logger.debug(
            "openai sandbox: request %d with %d messages", number, len(body.get("messages", []))
        )

        fault = turn.get("fault")
        if fault == "500":
            return _json(
                {"error": {"message": "The server had an error", "type": "server_error"}}, 500
            )
        if fault == "timeout":
            self._stopping.wait(float(turn.get("seconds", 5)))
            turn = {"content": "too late"}
        if fault == "malformed":
            turn = {"tool_calls": [{"name": "answer", "arguments_raw": '{"segment": '}]}
        return _json(_completion(body, turn, number))


def _completion(body: dict[str, Any], turn: dict[str, Any], number: int) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": turn.get("content"),
        "refusal": None,
    }
    finish = "stop"
    if turn.get("tool_calls"):
        calls = []
        for index, call in enumerate(turn["tool_calls"]):
            arguments = call.get("arguments_raw")
            if arguments is None:
                arguments = json.dumps(call.get("arguments", {}), ensure_ascii=False)
            calls.append(
                {
                    "id": f"call_{number}_{index}",
                    "type": "function",
                    "function": {"name": call["name"], "arguments": arguments},
                }
            )
        message["tool_calls"] = calls
        message["content"] = turn.get("content")
        finish = "tool_calls"
    prompt = len(json.dumps(body.get("messages", []))) // 4
    return {
        "id": f"chatcmpl-sandbox-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "lumo-sandbox"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": 10, "total_tokens": prompt + 10},
    }


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


def start_openai_sandbox(
    script: list[dict[str, Any]] | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> OpenAISandbox:
    """Start a stand-in on a free loopback port."""
    return OpenAISandbox(script).start(host, port)

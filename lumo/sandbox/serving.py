"""Run any WSGI app on a loopback port in a background thread (stand-ins, tests, the CLI)."""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

logger = logging.getLogger(__name__)

WSGIApp = Callable[..., Any]


class _QuietHandler(WSGIRequestHandler):
    """Keeps werkzeug's per-request access lines out of test and CLI output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s %s", self.command, self.path, code)


class RunningServer:
    """A WSGI server started by `serve_wsgi`; stop it when done."""

    def __init__(self, server: BaseWSGIServer, thread: threading.Thread, name: str) -> None:
        self._server = server
        self._thread = thread
        self.name = name
        self.host = server.host
        self.port = int(server.port)
        self.url = f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        logger.info("%s stopped on port %d", self.name, self.port)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_wsgi(
    app: WSGIApp, host: str = "127.0.0.1", port: int = 0, *, name: str = "wsgi"
) -> RunningServer:
    """Serve `app` (threaded) on `host:port`; port 0 picks a free port. Loopback only."""
    if not _is_loopback(host):
        raise ValueError(f"{name}: stand-ins bind loopback only (127.0.0.1), not {host!r}")
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"{name}-server",
        daemon=True,
    )
    thread.start()
    running = RunningServer(server, thread, name)
    logger.info("%s listening on %s", name, running.url)
    return running

"""Logging: one logger per module, and a filter that stamps job and delivery ids on records."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar

_context: ContextVar[dict[str, str]] = ContextVar("lumo_log_context", default={})  # noqa: B039


class ContextFilter(logging.Filter):
    """Adds `lumo_ids` ("job=… delivery=…") to every record, empty outside a job."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = _context.get()
        record.lumo_ids = " ".join(f"{key}={value}" for key, value in ids.items())
        return True


@contextlib.contextmanager
def log_context(**ids: object) -> Iterator[None]:
    """Stamp these ids on every log record made inside the block."""
    merged = {**_context.get(), **{key: str(value) for key, value in ids.items()}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def configure_logging(level: int = logging.INFO) -> None:
    """Set up console logging once; called by entry points, never at import time."""
    root = logging.getLogger()
    if any(getattr(h, "_lumo", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler._lumo = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s %(lumo_ids)s %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level)

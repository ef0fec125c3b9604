"""Where the COPY lane's batches are prepared: in this process, or in a forked one.

Preparing a batch (download, JSON, grouping, the plan, COPY text) is Python work, and under
one interpreter it takes turns with the writer for the GIL: a million-customer initial sync
spends most of its time there while the database waits. A forked process prepares the
batches instead and hands over finished COPY text, so the two run on separate cores.

Both sources yield, in export order, either a `LaneBatch` or the ordinary path's
`(rows, rejections)`. When the writer refuses a lane batch it asks the source for the same
records the ordinary way (`ordinary`): the forked source then has the child map that batch
again, and every later one, the ordinary way; batches it had already sent as COPY text are
dropped. The child keeps the last few batches' records for that, as compact JSON.

The child touches no database connection and no socket of its parent's, apart from what the
record stream itself reads (a download the parent does not use meanwhile). Its log records
are sent to the parent and logged there, so they reach the parent's handlers. An error in
the child is raised in the parent; a child that dies is reported as such.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import pickle
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import orjson

from lumo.mapping import Row
from lumo.sync.copy_lane import LaneBatch
from lumo.sync.rejects import Rejection

logger = logging.getLogger(__name__)

Ordinary = tuple[list[Row], list[Rejection]]
Prepared = LaneBatch | Ordinary

#: Batches the child may send before the parent has received the one before them: the
#: child prepares the next batch while the parent writes one and another waits in the pipe.
AHEAD = 3

#: Batches whose records the child keeps should the parent refuse one: the one the parent
#: writes, the one in the pipe and the one being prepared. They are kept as JSON (see
#: `_Kept`).
KEPT_BATCHES = AHEAD + 2

#: Seconds the parent waits for a finished child to exit before ending it.
EXIT_WAIT = 10.0


@dataclass(frozen=True)
class Preparation:
    """What a source of batches works from: the grouped records, how to prepare a batch, and
    how to map one the ordinary way."""

    grouped: Iterable[list[dict[str, Any]]]
    prepare: Callable[[int, list[dict[str, Any]]], Prepared]
    remap: Callable[[list[dict[str, Any]]], Ordinary]


class InlineBatches:
    """Batches prepared in this process, one at a time as they are asked for."""

    def __init__(self, work: Preparation) -> None:
        self.work = work

    def __iter__(self) -> Iterator[Prepared]:
        for index, records in enumerate(self.work.grouped):
            yield self.work.prepare(index, records)

    def ordinary(self, batch: LaneBatch) -> Ordinary:
        assert batch.records is not None
        return self.work.remap(batch.records)

    def close(self) -> None:
        """Nothing runs apart from the caller."""


class ForkedBatches:
    """Batches prepared by a forked child process, read in order through a pipe.

    Iterate in one thread only, and call `ordinary` from that same thread.
    """

    def __init__(self, work: Preparation) -> None:
        context = multiprocessing.get_context("fork")
        self._inbox, child_outbox = context.Pipe(duplex=False)
        child_inbox, self._outbox = context.Pipe(duplex=False)
        child = _Child(work, child_inbox, child_outbox)
        # The child's copies of the parent's ends must close, or it never sees the parent's
        # end close.
        child.foreign = (self._inbox, self._outbox)
        self._process = context.Process(target=child.run, name="lumo-lane-batches", daemon=True)
        self._process.start()
        child_inbox.close()
        child_outbox.close()
        self._ordinary_from: int | None = None
        self._total: int | None = None
        self._next = 0

    @staticmethod
    def available() -> bool:
        """Whether this process may fork a preparing child (Linux; not a daemonic process)."""
        return (
            "fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon
        )

    def __iter__(self) -> Iterator[Prepared]:
        while self._total is None or self._next < self._total:
            index, prepared = self._receive()
            if index is None or index < self._next:
                continue
            if isinstance(prepared, LaneBatch) and self._ordinary_from is not None:
                continue  # sent before the child learned of the refusal; its rows follow
            self._next = index + 1
            yield prepared

    def ordinary(self, batch: LaneBatch) -> Ordinary:
        """The ordinary path's rows for a refused lane batch, and for every batch after it."""
        if self._ordinary_from is None:
            self._ordinary_from = batch.index
            self._tell(("ordinary_from", batch.index))
        while True:
            index, prepared = self._receive()
            if index == batch.index and not isinstance(prepared, LaneBatch):
                return prepared

    def close(self) -> None:
        """Let the child finish (or end it, should the import have stopped early)."""
        self._outbox.close()
        self._process.join(EXIT_WAIT if self._total is not None else 0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._inbox.close()

    def _receive(self) -> tuple[int | None, Any]:
        """The next message with a batch: (index, prepared); (None, None) for the others."""
        try:
            kind, index, payload = self._inbox.recv()
        except EOFError:
            self._process.join(EXIT_WAIT)
            raise RuntimeError(
                "The process preparing the sync's batches ended unexpectedly (exit code "
                f"{self._process.exitcode}); start the sync again."
            ) from None
        if kind == "log":
            record = logging.makeLogRecord(payload)
            logging.getLogger(record.name).handle(record)
            return None, None
        if kind == "error":
            raise payload
        if kind == "done":
            self._total = index
            return None, None
        self._tell(("received", index))
        return index, payload

    def _tell(self, message: tuple[str, int]) -> None:
        """Send the child a message, unless it has ended: what it sent before ending (an
        error, at the latest) is still to be read."""
        with contextlib.suppress(OSError):
            self._outbox.send(message)


class _Child:
    """The forked side: prepares every batch and answers the parent's requests."""

    def __init__(self, work: Preparation, inbox: Connection, outbox: Connection) -> None:
        self.prepare = work.prepare
        self.remap = work.remap
        self.grouped = work.grouped
        self.inbox = inbox
        self.outbox = outbox
        self.kept: deque[_Kept] = deque(maxlen=KEPT_BATCHES)
        self.ordinary_from: int | None = None
        self.received = 0  # batches the parent has received
        self.sent = 0
        self.finished = False
        self.foreign: tuple[Connection, ...] = ()

    def run(self) -> None:
        for end in self.foreign:
            end.close()
        _forward_logs(self.outbox)
        try:
            for index, records in enumerate(self.grouped):
                kept = _Kept.of(index, records)
                self.kept.append(kept)
                if self.ordinary_from is None:
                    prepared = self.prepare(index, records)
                else:
                    prepared = self.remap(records)
                # From here the batch's records live only as JSON, while the next batch is
                # read and grouped.
                del records
                if isinstance(prepared, LaneBatch):
                    prepared.records = None  # the parent asks again if it needs them
                while index >= self.received + AHEAD:
                    if not self._obey(wait=True):
                        return
                if not self._obey(wait=False):
                    return
                if isinstance(prepared, LaneBatch) and self.ordinary_from is not None:
                    prepared = self.remap(kept.records())  # refused while this one waited
                self.outbox.send(("batch", index, prepared))
                self.sent = index + 1
                del prepared
            self.finished = True
            self.outbox.send(("done", self.sent, None))
            while self._obey(wait=True):
                pass
        except BaseException as error:  # noqa: BLE001 - every error goes to the parent
            self.outbox.send(("error", None, _portable(error)))

    def _obey(self, *, wait: bool) -> bool:
        """Handle the parent's messages: the next one (waiting for it), or those already
        there. False once the parent has closed its end."""
        while wait or self.inbox.poll():
            try:
                kind, index = self.inbox.recv()
            except EOFError:
                return False
            if kind == "received":
                self.received = max(self.received, index + 1)
            elif self.ordinary_from is None:
                self._go_ordinary(index)
            if wait:
                break
        return True

    def _go_ordinary(self, first: int) -> None:
        """Send batch `first` and the later ones already sent again, the ordinary way."""
        self.ordinary_from = first
        again = [kept for kept in self.kept if first <= kept.index < self.sent]
        if not again or again[0].index != first:
            raise RuntimeError(f"Batch {first} is no longer kept; start the sync again.")
        for kept in again:
            self.outbox.send(("batch", kept.index, self.remap(kept.records())))
        if self.finished:
            self.outbox.send(("done", self.sent, None))


@dataclass(frozen=True)
class _Kept:
    """A sent batch's records, kept for a refusal as compact JSON: as objects they take about
    five times the memory, and the child keeps several batches.

    The records were read from JSON, so JSON holds them again as they were (a parent's empty
    tuple of children comes back as an empty list). A batch with a value JSON cannot hold (an
    integer past 64 bits) is kept as objects.
    """

    index: int
    packed: bytes | list[dict[str, Any]]

    @classmethod
    def of(cls, index: int, records: list[dict[str, Any]]) -> _Kept:
        try:
            return cls(index, orjson.dumps(records))
        except TypeError:
            return cls(index, records)

    def records(self) -> list[dict[str, Any]]:
        if isinstance(self.packed, bytes):
            records: list[dict[str, Any]] = orjson.loads(self.packed)
            return records
        return self.packed


class _Forwarder(logging.Handler):
    """Sends the child's log records to the parent, which logs them."""

    def __init__(self, outbox: Connection) -> None:
        super().__init__()
        self.outbox = outbox

    def emit(self, record: logging.LogRecord) -> None:
        try:
            portable = dict(record.__dict__)
            portable["msg"], portable["args"] = record.getMessage(), None
            if record.exc_info:
                portable["exc_text"] = logging.Formatter().formatException(record.exc_info)
            portable["exc_info"] = None
            self.outbox.send(("log", None, portable))
        except Exception:  # noqa: BLE001 - logging never breaks the sync
            self.handleError(record)


def _forward_logs(outbox: Connection) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_Forwarder(outbox))


def _portable(error: BaseException) -> BaseException:
    """`error` if it survives pickling (not every exception does), else its message."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - any failure means "send the message instead"
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error

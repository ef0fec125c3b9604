"""Bulk operations: start a bulk query, wait for it, and stream its JSONL result line by line.

Choice when another bulk query is already running: `run_bulk_query` waits for that one to
finish and then starts ours (`wait_if_busy=True`, the default), or raises
`BulkOperationBusyError` at once (`wait_if_busy=False`).

Orphan detection (children whose parent line never comes) keeps the ids of the latest
top-level records in a window of fixed size (see `_SeenIds`); children whose parent has not
been seen yet wait in a small dict of counts. Memory stays flat, however big the file.
"""

from __future__ import annotations

import logging
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from lumo.shopify.client import ShopifyClient
from lumo.shopify.errors import (
    BulkOperationBusyError,
    BulkOperationError,
    ShopifyUserError,
    TruncatedBulkResultError,
)
from lumo.shopify.ids import GID_PREFIX

logger = logging.getLogger(__name__)

RUN_MUTATION = """
mutation bulkOperationRunQuery($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status createdAt }
    userErrors { field message }
  }
}
"""
OPERATION_FIELDS = (
    "id status errorCode createdAt completedAt objectCount rootObjectCount fileSize url "
    "partialDataUrl"
)
NODE_QUERY = (
    "query($id: ID!) { node(id: $id) { ... on BulkOperation { " + OPERATION_FIELDS + " } } }"
)
CURRENT_QUERY = "{ currentBulkOperation(type: QUERY) { " + OPERATION_FIELDS + " } }"
DOWNLOAD_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
FINISHED = {"COMPLETED", "FAILED", "CANCELED", "EXPIRED"}
RUNNING = {"CREATED", "RUNNING", "CANCELING"}


@dataclass(frozen=True)
class BulkOperation:
    """What Shopify reports about one bulk operation."""

    id: str
    status: str
    error_code: str | None = None
    object_count: int = 0
    root_object_count: int = 0
    file_size: int | None = None
    url: str | None = None
    partial_data_url: str | None = None

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> BulkOperation:
        def number(key: str) -> int | None:
            value = node.get(key)
            return None if value in (None, "") else int(value)

        return cls(
            id=str(node["id"]),
            status=str(node["status"]),
            error_code=node.get("errorCode"),
            object_count=number("objectCount") or 0,
            root_object_count=number("rootObjectCount") or 0,
            file_size=number("fileSize"),
            url=node.get("url"),
            partial_data_url=node.get("partialDataUrl"),
        )


@dataclass(slots=True)
class BulkRecord:
    """One JSONL line: the parsed object plus its ids, (numeric) parent id and its length."""

    gid: str | None
    id: int | None
    parent_id: int | None
    parent_gid: str | None
    data: dict[str, Any]
    #: Bytes of the line, so batches can be bounded by size as well as by count.
    size: int = 0

    @property
    def typename(self) -> str | None:
        """`__typename` when selected, else the type inside the GID (read only when asked:
        a result has millions of lines)."""
        named = self.data.get("__typename")
        if named or not (self.gid or "").startswith(GID_PREFIX):
            return named
        return str(self.gid)[len(GID_PREFIX) :].partition("/")[0]


@dataclass
class BulkReadStats:
    """Counts from one pass over a bulk result."""

    lines: int = 0
    roots: int = 0
    children: int = 0
    orphans: int = 0


def run_bulk_query(
    client: ShopifyClient,
    query: str,
    *,
    wait_if_busy: bool = True,
    poll_interval: float = 2.0,
    timeout: float = 3 * 3600,
) -> BulkOperation:
    """Start a bulk query and return the CREATED operation (see module doc for busy stores)."""
    try:
        payload = client.mutate(RUN_MUTATION, {"query": query}, "bulkOperationRunQuery")
    except ShopifyUserError as error:
        if not _is_busy(error):
            raise BulkOperationError(
                f"Shopify refused the bulk query: {error}. Check the category's query.",
            ) from error
        current = current_bulk_operation(client)
        if not wait_if_busy or current is None:
            raise BulkOperationBusyError(
                "Another bulk query is already running for this store; wait for it to finish "
                "and start the sync again.",
                status=current.status if current else None,
            ) from error
        logger.info("shop %s: bulk %s busy, waiting", client.shop_domain, current.id)
        _wait(client, current.id, poll_interval, timeout, raise_on_failure=False)
        payload = client.mutate(RUN_MUTATION, {"query": query}, "bulkOperationRunQuery")

    operation = BulkOperation.from_node(payload["bulkOperation"])
    logger.info("shop %s: bulk %s started", client.shop_domain, operation.id)
    return operation


def _is_busy(error: ShopifyUserError) -> bool:
    text = " ".join(str(e.get("message", "")) for e in error.user_errors).lower()
    return "already in progress" in text or "already running" in text


def get_bulk_operation(client: ShopifyClient, operation_id: str) -> BulkOperation:
    """Fetch an operation by id (after a `bulk_operations/finish` webhook, for example)."""
    node = client.graphql(NODE_QUERY, {"id": operation_id}).get("node")
    if not node:
        raise BulkOperationError(
            f"Shopify knows no bulk operation {operation_id}; start the sync again."
        )
    return BulkOperation.from_node(node)


def current_bulk_operation(client: ShopifyClient) -> BulkOperation | None:
    """The most recent bulk query of this app on this store, if any."""
    node = client.graphql(CURRENT_QUERY).get("currentBulkOperation")
    return BulkOperation.from_node(node) if node else None


def wait_for_bulk_operation(
    client: ShopifyClient,
    operation_id: str,
    *,
    poll_interval: float = 2.0,
    timeout: float = 3 * 3600,
) -> BulkOperation:
    """Poll until the operation finishes; return it if COMPLETED, raise otherwise.

    Also the way to resume from a known id, e.g. one named by a `bulk_operations/finish`
    webhook or saved before a worker restarted.
    """
    return _wait(client, operation_id, poll_interval, timeout, raise_on_failure=True)


def _wait(
    client: ShopifyClient,
    operation_id: str,
    poll_interval: float,
    timeout: float,
    *,
    raise_on_failure: bool,
) -> BulkOperation:
    waited = 0.0
    while True:
        operation = get_bulk_operation(client, operation_id)
        if operation.status in FINISHED:
            break
        if waited >= timeout:
            raise BulkOperationError(
                f"Bulk operation {operation_id} is still {operation.status} after "
                f"{timeout:.0f} s; the sync will resume from it when run again.",
                status=operation.status,
            )
        client.sleep(poll_interval)
        waited += poll_interval

    logger.info(
        "shop %s: bulk %s %s, %d objects",
        client.shop_domain,
        operation.id,
        operation.status,
        operation.object_count,
    )
    if raise_on_failure:
        check_completed(operation)
    return operation


def check_completed(operation: BulkOperation) -> None:
    """Raise a clear `BulkOperationError` unless the operation COMPLETED."""
    if operation.status == "COMPLETED":
        return
    hints = {
        "ACCESS_DENIED": "the app lacks an access scope the query needs; reconnect the store",
        "TIMEOUT": "the query took too long; the sync will retry",
        "INTERNAL_SERVER_ERROR": "Shopify failed internally; the sync will retry",
    }
    if operation.status == "EXPIRED":
        hint = "its result is older than 7 days; start a new sync"
    else:
        hint = hints.get(operation.error_code or "", "start the sync again")
    raise BulkOperationError(
        f"Bulk operation {operation.id} ended {operation.status} "
        f"(error code {operation.error_code or 'none'}): {hint}.",
        status=operation.status,
        error_code=operation.error_code,
    )


def run_and_read(
    client: ShopifyClient, query: str, *, poll_interval: float = 2.0
) -> Iterator[BulkRecord]:
    """Start a bulk query, wait for it, and stream its records."""
    started = run_bulk_query(client, query, poll_interval=poll_interval)
    finished = wait_for_bulk_operation(client, started.id, poll_interval=poll_interval)
    return read_bulk_result(client, finished)


def read_bulk_result(
    client: ShopifyClient | httpx.Client,
    operation: BulkOperation,
    *,
    stats: BulkReadStats | None = None,
    chunk_size: int = 1 << 20,
) -> Iterator[BulkRecord]:
    """Stream the result file of a COMPLETED operation, yielding one record per line.

    The download carries no access token (the result URL is pre-signed storage). After the
    last line, a file with fewer objects than `objectCount` raises `TruncatedBulkResultError`.
    """
    check_completed(operation)
    stats = stats if stats is not None else BulkReadStats()
    if not operation.url:
        if operation.object_count:
            raise TruncatedBulkResultError(
                f"Bulk operation {operation.id} reports {operation.object_count} objects but "
                "no result URL; start the sync again.",
                status=operation.status,
            )
        return
    http = client.http if isinstance(client, ShopifyClient) else client
    lines = _download_lines(http, operation, chunk_size)
    yield from parse_bulk_lines(lines, stats=stats)

    if stats.lines < operation.object_count:
        raise TruncatedBulkResultError(
            f"The result of bulk operation {operation.id} stopped after {stats.lines} of "
            f"{operation.object_count} objects; the download was cut short. Start the sync "
            "again (rows already written are kept and will be updated).",
            status=operation.status,
        )
    logger.info(
        "bulk %s read: %d lines, %d roots, %d children, %d orphans",
        operation.id,
        stats.lines,
        stats.roots,
        stats.children,
        stats.orphans,
    )


def _download_lines(
    http: httpx.Client, operation: BulkOperation, chunk_size: int
) -> Iterator[bytes]:
    assert operation.url is not None
    try:
        with http.stream("GET", operation.url, timeout=DOWNLOAD_TIMEOUT) as response:
            if response.status_code != 200:
                raise BulkOperationError(
                    f"Downloading the result of bulk operation {operation.id} failed with "
                    f"HTTP {response.status_code}; the link may have expired. Start the sync "
                    "again.",
                    status=operation.status,
                )
            yield from split_lines(response.iter_bytes(chunk_size))
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout) as error:
        raise TruncatedBulkResultError(
            f"The download of bulk operation {operation.id} broke off "
            f"({type(error).__name__}); start the sync again.",
            status=operation.status,
        ) from error


def split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Turn a stream of byte chunks into complete lines, whatever the chunk boundaries."""
    rest = b""
    for chunk in chunks:
        if not chunk:
            continue
        pieces = (rest + chunk).split(b"\n")
        rest = pieces.pop()
        yield from pieces
    if rest.strip():
        yield rest


#: The parent id of a child line whose `__parentId` cannot be read: no parent has it, so the
#: line goes on alone (an orphan) and its category's mapper decides.
UNREADABLE_PARENT = 0


def parse_bulk_lines(
    lines: Iterable[bytes | str],
    *,
    stats: BulkReadStats | None = None,
) -> Iterator[BulkRecord]:
    """Parse JSONL lines into `BulkRecord`s and count orphans (see module doc)."""
    stats = stats if stats is not None else BulkReadStats()
    roots = _SeenIds()
    last_root = None  # children follow their parent: most checks stop here
    waiting: dict[int, int] = {}
    prefix_len = len(GID_PREFIX)

    # Counted in locals (a bulk result has millions of lines) and kept in `stats` at the end.
    count = roots_count = children_count = 0
    try:
        for raw in lines:
            if not raw or raw.isspace():
                continue
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError as error:
                raise TruncatedBulkResultError(
                    f"Line {stats.lines + count + 1} of the bulk result is not complete JSON; "
                    "the download was cut short. Start the sync again."
                ) from error
            count += 1

            try:
                gid = data.get("id")
            except AttributeError:
                raise BulkOperationError(
                    f"Line {stats.lines + count} of the bulk result is JSON but not an object "
                    "(a record); the result is malformed. Start the sync again."
                ) from None
            number = None
            if type(gid) is str and gid.startswith(GID_PREFIX):
                try:
                    number = int(gid[prefix_len:].partition("/")[2].partition("?")[0])
                except ValueError:
                    # Left to the category's mapper, which refuses the record: one odd line
                    # stops nothing. (A try costs nothing here; a `with` would, per line.)
                    number = None

            parent_gid = data.pop("__parentId", None)
            parent_id = None
            if parent_gid is not None:
                try:
                    parent_id = int(parent_gid.rpartition("/")[2].partition("?")[0])
                except (ValueError, AttributeError):
                    parent_id = UNREADABLE_PARENT
                children_count += 1
                if parent_id != last_root and parent_id not in roots:
                    waiting[parent_id] = waiting.get(parent_id, 0) + 1
            else:
                roots_count += 1
                if number is not None:
                    if waiting:
                        waiting.pop(number, None)
                    try:
                        roots.add(number)
                    except OverflowError:  # past 64 bits: no Shopify id; the mapper decides
                        number = None
                    last_root = number

            yield BulkRecord(gid, number, parent_id, parent_gid, data, len(raw))
    finally:
        stats.lines += count
        stats.roots += roots_count
        stats.children += children_count

    stats.orphans = sum(waiting.values())
    if stats.orphans:
        logger.warning("bulk result: %d children without a parent line", stats.orphans)


class _SeenIds:
    """The ids of the latest top-level records, to tell a late child from an orphan.

    Shopify writes a child after its parent, mostly right after it, so only recent parents
    matter: ids that ascend (as Shopify writes them) are kept as 4-byte offsets from a
    per-block 8-byte base, and only the last `WINDOW` of them (at least half as many after
    the oldest are let go). A child whose parent id is older than that window is taken as
    seen, so memory stays the same however big the store. An id seen again is ignored. Ids
    that do not ascend go to a set of at most `SET_LIMIT`; past that, every id is taken as
    seen and orphans are no longer counted.
    """

    __slots__ = ("_bases", "_starts", "_offsets", "_set", "_last", "_window_floor", "_all")

    BLOCK = 1 << 16
    #: Parents remembered: 1 MB, and children come right after their parent.
    WINDOW = 1 << 18
    SET_LIMIT = 1 << 16
    MAX_OFFSET = 0xFFFFFFFF
    #: Below any 64-bit id, so the first id always ascends.
    NOTHING = -(1 << 63) - 1

    def __init__(self) -> None:
        self._bases: array[int] = array("q")
        self._starts: array[int] = array("q")
        self._offsets: array[int] = array("I")
        self._set: set[int] | None = None
        self._last = self.NOTHING
        self._window_floor: int | None = None  # ids below it were seen and let go
        self._all = False  # too many unordered ids to keep: every id counts as seen

    def add(self, number: int) -> None:
        if self._all:
            return
        if self._set is None:
            if number > self._last:
                if (
                    not self._bases
                    or number - self._bases[-1] > self.MAX_OFFSET
                    or len(self._offsets) - self._starts[-1] >= self.BLOCK
                ):
                    self._new_block(number)
                self._offsets.append(number - self._bases[-1])
                self._last = number
                return
            if number in self:  # a record exported twice breaks no order
                return
            if len(self._offsets) >= self.SET_LIMIT or self._window_floor is not None:
                self._let_go_of_order()
                return
            self._set = set(self._ascending())
            self._bases, self._starts, self._offsets = array("q"), array("q"), array("I")
        if len(self._set) >= self.SET_LIMIT:
            self._let_go_of_order()
            return
        self._set.add(number)

    def _new_block(self, base: int) -> None:
        if len(self._offsets) >= self.WINDOW:
            self._forget_older_half()
        self._bases.append(base)
        self._starts.append(len(self._offsets))

    def _forget_older_half(self) -> None:
        """Let go of the blocks holding the older half of the window, all at once (sparse ids
        make a block per id; dropping them one by one would move the window each time)."""
        keep_from = bisect_left(self._starts, len(self._offsets) // 2)
        keep_from = max(1, keep_from)
        dropped = self._starts[keep_from] if keep_from < len(self._starts) else len(self._offsets)
        self._window_floor = (
            self._bases[keep_from] if keep_from < len(self._bases) else self._last + 1
        )
        del self._offsets[:dropped]
        self._bases = self._bases[keep_from:]
        self._starts = array("q", (start - dropped for start in self._starts[keep_from:]))

    def _let_go_of_order(self) -> None:
        logger.info("bulk result: top-level ids out of order; orphans are no longer counted")
        self._all = True
        self._set = None
        self._bases, self._starts, self._offsets = array("q"), array("q"), array("I")

    def _ascending(self) -> Iterator[int]:
        if not self._bases:
            return
        ends = [*self._starts[1:], len(self._offsets)]
        for base, start, end in zip(self._bases, self._starts, ends, strict=True):
            for position in range(start, end):
                yield base + self._offsets[position]

    def __contains__(self, number: object) -> bool:
        if number == self._last or self._all:
            return True
        if self._set is not None:
            return number in self._set
        if not isinstance(number, int):
            return False
        if self._window_floor is not None and number < self._window_floor:
            return True
        block = bisect_right(self._bases, number) - 1
        if block < 0:
            return False
        start = self._starts[block]
        end = self._starts[block + 1] if block + 1 < len(self._starts) else len(self._offsets)
        offset = number - self._bases[block]
        position = bisect_left(self._offsets, offset, start, end)
        return position < end and self._offsets[position] == offset


def batched(records: Iterable[BulkRecord], size: int) -> Iterator[list[BulkRecord]]:
    """Group records into lists of at most `size`, for batched upserts."""
    batch: list[BulkRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch

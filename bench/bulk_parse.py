"""Bench: stream-parse a bulk JSONL result with Lumo's bulk reader vs a bare orjson.loads loop.

The Shopify stand-in (in a child process, so its memory is not counted) generates the bulk
result for a store of N customers; the file is saved, then served back over loopback HTTP and
read through `lumo.shopify.bulk.read_bulk_result` (streamed, with ids, parents and orphan
tracking). The baseline is `for line in file: orjson.loads(line)` over the same file: the
same JSON parser the reader uses, so the ratio is the reader's own overhead.
Last line: {"bench", "value", "unit", "baseline", "ratio", "n"}.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lumo.sandbox.serving import serve_wsgi  # noqa: E402
from lumo.shopify import bulk  # noqa: E402
from lumo.shopify.client import ShopifyClient  # noqa: E402

QUERIES = {
    "customers": "{ customers { edges { node { id firstName lastName displayName email phone "
    "tags numberOfOrders amountSpent { amount currencyCode } state createdAt updatedAt "
    "lastOrder { id processedAt } } } } }",
    "orders": "{ orders { edges { node { id name processedAt cancelledAt updatedAt "
    "displayFinancialStatus displayFulfillmentStatus customer { id } "
    "totalPriceSet { shopMoney { amount currencyCode } } "
    "lineItems { edges { node { id title variantTitle sku quantity "
    "originalUnitPriceSet { shopMoney { amount } } } } } } } } }",
}
DOMAIN = "bench-shop.myshopify.com"


def _run_sandbox(customers: int, seed: int, conn: Any) -> None:
    from lumo.sandbox.shopify_server import start_shopify_sandbox

    sandbox = start_shopify_sandbox()
    shop = sandbox.add_generated_shop(DOMAIN, customers=customers, seed=seed, materialize=False)
    conn.send((sandbox.shop_url_template, shop.issue_token()))
    conn.recv()
    sandbox.stop()


def _file_app(path: str) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "application/jsonl")])

        def chunks() -> Iterator[bytes]:
            with open(path, "rb") as handle:
                while chunk := handle.read(1 << 16):
                    yield chunk

        return chunks()

    return app


def _measure(fn: Callable[[], int], *, trace: bool) -> tuple[int, float, int]:
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    count = fn()
    elapsed = time.perf_counter() - started
    peak = 0
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return count, elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kind", choices=sorted(QUERIES), default="customers")
    args = parser.parse_args()

    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(
        target=_run_sandbox, args=(args.customers, args.seed, child), daemon=True
    )
    process.start()
    template, token = parent.recv()
    workdir = tempfile.mkdtemp(prefix="lumo-bench-")
    path = os.path.join(workdir, "result.jsonl")
    try:
        with ShopifyClient(DOMAIN, token, api_version="2025-10", url_template=template) as client:
            started = time.perf_counter()
            operation = bulk.run_bulk_query(client, QUERIES[args.kind])
            operation = bulk.wait_for_bulk_operation(client, operation.id, poll_interval=0.2)
            with (
                client.http.stream("GET", str(operation.url), timeout=600) as response,
                open(path, "wb") as out,
            ):
                for chunk in response.iter_bytes(1 << 16):
                    out.write(chunk)
            generated = time.perf_counter() - started
        size = os.path.getsize(path)
        print(
            f"stand-in generated {operation.object_count:,} lines ({size / 1e6:.1f} MB) for "
            f"{args.customers:,} customers in {generated:.1f} s "
            f"({operation.object_count / generated:,.0f} lines/s)"
        )

        server = serve_wsgi(_file_app(path), name="bench-file")
        local = bulk.BulkOperation(
            id=operation.id,
            status="COMPLETED",
            object_count=operation.object_count,
            url=server.url + "/result.jsonl",
        )
        http = httpx.Client(timeout=httpx.Timeout(60.0, connect=5.0))

        def ours() -> int:
            stats = bulk.BulkReadStats()
            count = sum(1 for _ in bulk.read_bulk_result(http, local, stats=stats))
            assert stats.orphans == 0
            return count

        def baseline() -> int:
            count = 0
            with open(path, "rb") as handle:
                for line in handle:
                    orjson.loads(line)
                    count += 1
            return count

        n, ours_time, _ = _measure(ours, trace=False)
        base_n, base_time, _ = _measure(baseline, trace=False)
        _, _, ours_peak = _measure(ours, trace=True)
        _, _, base_peak = _measure(baseline, trace=True)
        server.stop()
        http.close()
        assert n == base_n == operation.object_count, (n, base_n, operation.object_count)
    finally:
        parent.send("stop")
        process.join(timeout=30)
        if os.path.exists(path):
            os.remove(path)
        os.rmdir(workdir)

    value, base = n / ours_time, base_n / base_time
    print(
        f"bulk reader over HTTP: {value:,.0f} lines/s, peak traced memory {ours_peak / 1e6:.1f} MB"
    )
    print(
        f"orjson.loads loop over the file: {base:,.0f} lines/s, peak traced memory "
        f"{base_peak / 1e6:.1f} MB"
    )
    print(
        json.dumps(
            {
                "bench": "bulk_parse",
                "value": round(value, 1),
                "unit": "lines/s",
                "baseline": round(base, 1),
                "ratio": round(value / base, 3),
                "n": n,
            }
        )
    )


if __name__ == "__main__":
    main()

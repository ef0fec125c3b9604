"""Initial-sync throughput into PostgreSQL, against COPY of the same rows (figures, no asserts).

Runs the Shopify stand-in with a generated store in a child process, syncs it into a fresh
PostgreSQL database through bulk operations (the real client, JSONL stream, mapping and
batched upserts), then COPYs the very rows it stored into tables of the same shape. Peak
memory is the sync process's peak RSS growth, measured at 10k customers and at `--customers`.

    .venv/bin/python bench/initial_sync.py --customers 100000
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SECRET = "bench-secret"
TABLES = (
    "shopify_customers",
    "shopify_customer_tags",
    "shopify_orders",
    "shopify_order_line_items",
    "shopify_abandoned_checkouts",
    "shopify_products",
)


def serve_store(customers: int, pipe: Any) -> None:
    from lumo.sandbox.shopify_server import start_shopify_sandbox

    sandbox = start_shopify_sandbox(
        api_key="bench", api_secret=SECRET, bucket_size=1e9, restore_rate=1e9
    )
    shop = sandbox.add_generated_shop(
        "bench.myshopify.com", customers=customers, materialize=False
    )
    pipe.send((sandbox.shop_url_template, shop.issue_token()))
    pipe.recv()  # wait for the parent to finish
    sandbox.stop()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sync_once(customers: int, database_url: str, batch: int) -> dict[str, Any]:
    from flask_migrate import upgrade

    from lumo.app import create_app
    from lumo.extensions import db
    from lumo.models import ShopifyConnection
    from lumo.sync.service import start_initial_sync
    from lumo.workspaces import create_workspace

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=serve_store, args=(customers, child)
    )
    server.start()
    url_template, token = parent.recv()
    app = create_app(
        {
            "LUMO_ENV": "testing",
            "DATABASE_URL": database_url,
            "LUMO_JOBS_MODE": "inline",
            "LUMO_INSTANCE_PATH": tempfile.mkdtemp(),
            "SHOPIFY_API_SECRET": SECRET,
            "SHOPIFY_SHOP_URL_TEMPLATE": url_template,
            "LUMO_BULK_POLL_SECONDS": 0.05,
            "LUMO_SYNC_BATCH_SIZE": batch,
        }
    )
    try:
        with app.app_context():
            upgrade()
            workspace = create_workspace("bench")
            db.session.add(
                ShopifyConnection(
                    workspace_id=workspace.id,
                    shop_domain="bench.myshopify.com",
                    access_token=token,
                    state="connected",
                    shop_currency="JPY",
                )
            )
            db.session.commit()
            rss_before = peak_rss_mb()
            started = time.perf_counter()
            run = start_initial_sync(workspace.id)
            seconds = time.perf_counter() - started
            db.session.refresh(run)
            if run.status != "complete":
                raise SystemExit(f"sync failed: {run.error}")
            rows = sum(int(v) for v in (run.counts or {}).values())
            tags = db.session.scalar(sa.text("SELECT count(*) FROM shopify_customer_tags")) or 0
            db.engine.dispose()
        return {
            "rows": rows + int(tags),
            "seconds": seconds,
            "peak_rss_growth_mb": peak_rss_mb() - rss_before,
            "counts": run.counts,
        }
    finally:
        parent.send("done")
        server.join(timeout=30)


def copy_baseline(database_url: str) -> tuple[int, float]:
    """COPY the synced rows into same-shaped tables; returns (rows, seconds)."""
    import psycopg

    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection:
        dumps = {}
        for name in TABLES:
            buffer = io.BytesIO()
            with connection.cursor().copy(f"COPY {name} TO STDOUT") as copy:
                for chunk in copy:
                    buffer.write(chunk)
            dumps[name] = buffer.getvalue()
            connection.execute(f"CREATE TABLE copy_{name} (LIKE {name} INCLUDING ALL)")
        connection.commit()
        rows = sum(data.count(b"\n") for data in dumps.values())
        started = time.perf_counter()
        for name, data in dumps.items():
            with connection.cursor().copy(f"COPY copy_{name} FROM STDIN") as copy:
                copy.write(data)
        connection.commit()
        return rows, time.perf_counter() - started


def with_database(fn: Any) -> Any:
    name = f"lumo_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        return fn(ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()

    small = with_database(lambda url: sync_once(min(10_000, args.customers), url, args.batch))
    print(
        f"10k customers: {small['rows']} rows, "
        f"peak RSS growth {small['peak_rss_growth_mb']:.1f} MB"
    )

    def measured(url: str) -> tuple[dict[str, Any], tuple[int, float]]:
        return sync_once(args.customers, url, args.batch), copy_baseline(url)

    result, (copied, copy_seconds) = with_database(measured)
    rate = result["rows"] / result["seconds"]
    copy_rate = copied / copy_seconds
    print(f"{args.customers} customers: {result['counts']}")
    print(f"initial sync: {result['rows']} rows in {result['seconds']:.1f} s = {rate:,.0f} rows/s")
    print(
        f"COPY of the same rows: {copied} rows in {copy_seconds:.2f} s = {copy_rate:,.0f} rows/s"
    )
    print(
        f"peak RSS growth: {small['peak_rss_growth_mb']:.1f} MB at 10k, "
        f"{result['peak_rss_growth_mb']:.1f} MB at {args.customers}"
    )
    print(
        json.dumps(
            {
                "bench": "initial_sync",
                "value": round(rate, 1),
                "unit": "rows/s",
                "baseline": round(copy_rate, 1),
                "ratio": round(rate / copy_rate, 4),
                "n": args.customers,
            }
        )
    )


if __name__ == "__main__":
    main()

"""Initial-sync throughput into PostgreSQL, against COPY of the same rows (figures, no asserts).

1. The Shopify stand-in (child process) generates a store; each bulk category's query is run
   through the real client and its JSONL result saved to a temp file — once, untimed, so the
   stand-in's generation speed is never what is measured.
2. The files are served over loopback HTTP by a plain file server (another child process).
3. In a fresh child process per size, the sync's own path is timed: the client's bulk reader
   streams each file, the engine groups children, maps through the plugins and upserts in
   batches (`lumo.sync.bulk_import.import_records`), exactly as an initial sync does.
4. The rows it stored are dumped and `COPY`d into same-shaped tables (indexes included).

Peak memory, at 10k customers and at `--customers`: the sync process's peak RSS (and its
growth during the sync), the peak RSS of the process it forks to prepare the COPY lane's
batches, and the two together as their summed PSS (pages they share counted once), sampled
from outside every 0.1 s.

PostgreSQL is reached at `LUMO_BENCH_POSTGRES_URL` (default: postgres@127.0.0.1:5432), where
the bench creates its own database and drops it afterwards.

    .venv/bin/python bench/initial_sync.py --customers 100000
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: The PostgreSQL server the bench creates (and drops) its own database on.
ADMIN_URL = os.environ.get(
    "LUMO_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SECRET = "bench-secret"
SHOP = "bench.myshopify.com"
TABLES = (
    "shopify_customers",
    "shopify_customer_tags",
    "shopify_orders",
    "shopify_order_line_items",
    "shopify_abandoned_checkouts",
    "shopify_products",
)


def _settings(database_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "LUMO_ENV": "testing",
        "DATABASE_URL": database_url,
        "LUMO_JOBS_MODE": "inline",
        "LUMO_INSTANCE_PATH": tempfile.mkdtemp(),
        "SHOPIFY_API_SECRET": SECRET,
        **extra,
    }


def _serve_store(customers: int, pipe: Any) -> None:
    from lumo.sandbox.shopify_server import start_shopify_sandbox

    sandbox = start_shopify_sandbox(
        api_key="bench", api_secret=SECRET, bucket_size=1e9, restore_rate=1e9
    )
    shop = sandbox.add_generated_shop(SHOP, customers=customers, materialize=False)
    pipe.send((sandbox.shop_url_template, shop.issue_token()))
    pipe.recv()
    sandbox.stop()


def export_files(customers: int, folder: Path) -> dict[str, int]:
    """Run every bulk category's query against the stand-in; save each result as a file."""
    from lumo.app import create_app, plugin_manager
    from lumo.shopify import ShopifyClient
    from lumo.shopify.bulk import run_bulk_query, wait_for_bulk_operation

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=_serve_store, args=(customers, child)
    )
    server.start()
    url_template, token = parent.recv()
    app = create_app(_settings("sqlite://"))
    counts: dict[str, int] = {}
    try:
        with app.app_context():
            pm = plugin_manager(app)
            version = app.config["SHOPIFY_API_VERSION"]
            with ShopifyClient(
                SHOP, token, api_version=version, url_template=url_template
            ) as client:
                for category in pm.categories():
                    if not category.bulk:
                        continue
                    enabled = frozenset(
                        p.key for p in category.properties if p.required or p.default_enabled
                    )
                    query = pm.hook.lumo_bulk_query(category=category, enabled=enabled)
                    if query is None:
                        continue
                    started = run_bulk_query(client, query, poll_interval=0.05)
                    done = wait_for_bulk_operation(client, started.id, poll_interval=0.05)
                    assert done.url is not None
                    with (
                        open(folder / f"{category.key}.jsonl", "wb") as out,
                        httpx.stream("GET", done.url, timeout=600) as response,
                    ):
                        for chunk in response.iter_bytes(1 << 20):
                            out.write(chunk)
                    counts[category.key] = done.object_count
    finally:
        parent.send("done")
        server.join(timeout=30)
    return counts


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_folder(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", "-b", "127.0.0.1", "-d", str(folder), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(url + "/", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return process, url


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_rss_mb() -> float:
    """The largest peak RSS of the processes the sync forked to prepare its batches (pages
    shared with the sync process at the fork count in both)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


class PssSampler:
    """Samples the summed PSS of a process and its children from another process, so the
    sampling costs the measured process nothing. PSS splits each shared page between the
    processes that map it: the sum is what they take together."""

    INTERVAL = 0.1

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> float:
        """Stop sampling; the peak in MB."""
        self._stop.set()
        self._thread.join()
        return self.peak_kb / 1024

    def _run(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            pids = [self.pid, *self._children()]
            self.peak_kb = max(self.peak_kb, sum(self._pss_kb(pid) for pid in pids))

    def _children(self) -> list[str]:
        found: list[str] = []
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{self.pid}/task"):
                with contextlib.suppress(OSError):
                    found += Path(f"/proc/{self.pid}/task/{task}/children").read_text().split()
        return found

    @staticmethod
    def _pss_kb(pid: int | str) -> int:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return int(line.split()[1])
        return 0


def _sync_child(
    database_url: str, base_url: str, objects: dict[str, int], batch: int, pipe: Any
) -> None:
    """Set up the schema and a connected workspace, then time the sync's own path."""
    from flask_migrate import upgrade

    from lumo.app import create_app, plugin_manager
    from lumo.extensions import db
    from lumo.models import ShopifyConnection
    from lumo.shopify.bulk import BulkOperation, read_bulk_result
    from lumo.sync.bulk_import import import_records
    from lumo.sync.properties import map_context
    from lumo.sync.runs import begin_run, finish_run
    from lumo.workspaces import create_workspace

    app = create_app(_settings(database_url, LUMO_SYNC_BATCH_SIZE=batch))
    with app.app_context():
        upgrade()
        workspace = create_workspace("bench")
        db.session.add(
            ShopifyConnection(
                workspace_id=workspace.id,
                shop_domain=SHOP,
                access_token="x",
                state="connected",
                shop_currency="JPY",
            )
        )
        db.session.commit()
        categories = [c for c in plugin_manager(app).categories() if c.key in objects]
        rss_before = peak_rss_mb()
        started = time.perf_counter()
        run = begin_run(workspace.id, "initial")
        counts = {}
        with httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0)) as http:
            for category in categories:
                operation = BulkOperation(
                    id=f"gid://shopify/BulkOperation/{category.key}",
                    status="COMPLETED",
                    object_count=objects[category.key],
                    url=f"{base_url}/{category.key}.jsonl",
                )
                context = map_context(workspace.id, category)
                records = read_bulk_result(http, operation)
                counts[category.key] = import_records(run, category, records, context, sweep=False)
        finish_run(run, counts)
        seconds = time.perf_counter() - started
        rows = 0
        for name in TABLES:
            rows += int(db.session.scalar(sa.text(f"SELECT count(*) FROM {name}")) or 0)
        db.engine.dispose()
    pipe.send(
        {
            "rows": rows,
            "seconds": seconds,
            "counts": counts,
            "peak_rss_mb": peak_rss_mb(),
            "peak_rss_growth_mb": peak_rss_mb() - rss_before,
            "preparer_peak_rss_mb": children_peak_rss_mb(),
        }
    )


def sync_once(database_url: str, base_url: str, objects: dict[str, int], batch: int) -> Any:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_sync_child, args=(database_url, base_url, objects, batch, child)
    )
    process.start()
    sampler = PssSampler(process.pid)
    result = parent.recv()
    result["combined_peak_pss_mb"] = sampler.stop()
    process.join(timeout=60)
    return result


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


def exported(customers: int, keep: Path | None) -> tuple[Path, dict[str, int]]:
    """The bulk files for `customers`: exported now, or reused from `keep` when there."""
    folder = keep / str(customers) if keep else Path(tempfile.mkdtemp(prefix="lumo-bench-"))
    counts_file = folder / "objects.json"
    if counts_file.exists():
        print(f"{customers} customers: reusing the export in {folder}", flush=True)
        return folder, json.loads(counts_file.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    objects = export_files(customers, folder)
    size = sum(os.path.getsize(p) for p in folder.iterdir()) / 1e6
    print(
        f"{customers} customers: {sum(objects.values())} JSONL lines, {size:.0f} MB "
        f"exported in {time.perf_counter() - started:.0f} s (not timed)",
        flush=True,
    )
    if keep:
        counts_file.write_text(json.dumps(objects))
    return folder, objects


def measure(customers: int, batch: int, keep: Path | None) -> tuple[dict[str, Any], int, float]:
    server = None
    folder, objects = exported(customers, keep)
    try:
        server, base_url = serve_folder(folder)

        def run(url: str) -> tuple[dict[str, Any], tuple[int, float]]:
            return sync_once(url, base_url, objects, batch), copy_baseline(url)

        result, (copied, copy_seconds) = with_database(run)
        return result, copied, copy_seconds
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def memory_line(customers: int, measured: dict[str, Any]) -> str:
    return (
        f"peak memory at {customers} customers: the sync process {measured['peak_rss_mb']:.0f} "
        f"MB RSS ({measured['peak_rss_growth_mb']:.1f} MB above its peak before the sync "
        f"began); the process preparing batches {measured['preparer_peak_rss_mb']:.0f} MB RSS "
        f"(pages shared with the sync process count in both); both together "
        f"{measured['combined_peak_pss_mb']:.0f} MB (summed PSS)"
    )


def positive(value: str) -> int:
    """An argparse type: a whole number above zero, read as Lumo's count settings are."""
    from config import positive_int

    try:
        return positive_int(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{value!r}: {error}") from None


def main() -> None:
    from config import SETTINGS

    default_batch = int(next(s.default for s in SETTINGS if s.name == "LUMO_SYNC_BATCH_SIZE"))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--customers",
        type=positive,
        default=100_000,
        help="customers in the big store (default: %(default)s; 10k is always measured too)",
    )
    parser.add_argument(
        "--batch",
        type=positive,
        default=default_batch,
        help="LUMO_SYNC_BATCH_SIZE for the sync (default: the setting's default, %(default)s)",
    )
    parser.add_argument(
        "--keep-files",
        type=Path,
        default=None,
        help="keep each size's exported JSONL under this folder and reuse it on the next run",
    )
    args = parser.parse_args()
    batch = args.batch

    small_n = min(10_000, args.customers)
    small, small_copied, small_copy_seconds = measure(small_n, batch, args.keep_files)
    print(
        f"{small_n} customers: {small['rows']} rows in {small['seconds']:.1f} s, peak RSS "
        f"{small['peak_rss_mb']:.0f} MB (growth {small['peak_rss_growth_mb']:.1f} MB)",
        flush=True,
    )
    if args.customers == small_n:
        result, copied, copy_seconds = small, small_copied, small_copy_seconds
    else:
        result, copied, copy_seconds = measure(args.customers, batch, args.keep_files)
    rate = result["rows"] / result["seconds"]
    copy_rate = copied / copy_seconds
    print(f"{args.customers} customers: objects per category {result['counts']}")
    print(f"initial sync: {result['rows']} rows in {result['seconds']:.1f} s = {rate:,.0f} rows/s")
    print(
        f"COPY of the same rows: {copied} rows in {copy_seconds:.2f} s = {copy_rate:,.0f} rows/s"
    )
    for customers, measured in {small_n: small, args.customers: result}.items():
        print(memory_line(customers, measured))
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

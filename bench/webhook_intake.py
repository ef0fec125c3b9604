"""Webhook intake requests/s under gunicorn, against a bare Flask endpoint (figures only).

Both apps run under gunicorn (sync workers) with the same worker count on loopback; a thread
pool of httpx clients in this separate process posts signed `customers/update` deliveries (each
with a new event id), alternating between the two servers for `--rounds` rounds (median). Lumo's
endpoint verifies the HMAC, saves the delivery to PostgreSQL and enqueues the apply job on
Redis database 12 (its keys are deleted afterwards).

    .venv/bin/python bench/webhook_intake.py --requests 3000 --workers 4
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: The PostgreSQL server the bench creates (and drops) its own database on.
ADMIN_URL = os.environ.get(
    "LUMO_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = "redis://127.0.0.1:6379/12"
SECRET = "bench-secret"
SHOP = "intake.myshopify.com"
BARE_APP = """
from flask import Flask, request
app = Flask(__name__)
@app.post("/webhooks/shopify")
def receive():
    request.get_data()
    return {"ok": True}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(
    target: str, workers: int, env: dict[str, str], cwd: str
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            target,
        ],
        cwd=cwd,
        env={**os.environ, **env},
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(url + "/", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return process, url


def load(url: str, requests: int, concurrency: int) -> float:
    from lumo.shopify.webhooks import webhook_signature

    body = json.dumps(
        {"id": 1, "first_name": "Bench", "updated_at": "2026-01-01T00:00:00Z"}
    ).encode()
    signature = webhook_signature(body, SECRET)

    def one(client: httpx.Client) -> int:
        headers = {
            "X-Shopify-Topic": "customers/update",
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Event-Id": uuid.uuid4().hex,
            "Content-Type": "application/json",
        }
        return client.post(url + "/webhooks/shopify", content=body, headers=headers).status_code

    clients = [httpx.Client(timeout=10) for _ in range(concurrency)]
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        codes = list(pool.map(lambda n: one(clients[n % concurrency]), range(requests)))
    seconds = time.perf_counter() - started
    bad = [c for c in codes if c != 200]
    if bad:
        raise SystemExit(f"{len(bad)} requests failed, first status {bad[0]}")
    return requests / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median)")
    args = parser.parse_args()

    name = f"lumo_intake_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    database_url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    instance = tempfile.mkdtemp()
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "LUMO_JOBS_MODE": "redis",
        "SHOPIFY_API_SECRET": SECRET,
        "LUMO_INSTANCE_PATH": instance,
        "LUMO_ENV": "development",
    }
    processes = []
    try:
        from flask_migrate import upgrade

        from lumo.app import create_app
        from lumo.extensions import db
        from lumo.models import ShopifyConnection
        from lumo.workspaces import create_workspace

        os.environ.update(env)
        app = create_app()
        with app.app_context():
            upgrade()
            workspace = create_workspace("intake")
            db.session.add(
                ShopifyConnection(
                    workspace_id=workspace.id,
                    shop_domain=SHOP,
                    access_token="x",
                    state="connected",
                )
            )
            db.session.commit()
            db.engine.dispose()

        bare_dir = tempfile.mkdtemp()
        Path(bare_dir, "bare.py").write_text(BARE_APP)
        lumo, lumo_url = serve("wsgi:app", args.workers, env, str(ROOT))
        bare, bare_url = serve("bare:app", args.workers, {}, bare_dir)
        processes = [lumo, bare]
        load(lumo_url, 100, args.concurrency)  # warm up
        load(bare_url, 100, args.concurrency)
        # Alternate the two servers and keep the median, so a burst of load from elsewhere on
        # the machine does not land on one side only.
        lumo_rates, bare_rates = [], []
        for _ in range(args.rounds):
            lumo_rates.append(load(lumo_url, args.requests, args.concurrency))
            bare_rates.append(load(bare_url, args.requests, args.concurrency))
        lumo_rate = statistics.median(lumo_rates)
        bare_rate = statistics.median(bare_rates)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        from redis import Redis

        redis = Redis.from_url(REDIS_URL)
        for key in redis.scan_iter("rq:*"):
            redis.delete(key)
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    rounds = ", ".join(f"{r:,.0f}" for r in lumo_rates)
    bare_rounds = ", ".join(f"{r:,.0f}" for r in bare_rates)
    print(
        f"Lumo /webhooks/shopify: {lumo_rate:,.0f} requests/s median ({rounds}); "
        f"{args.workers} gunicorn workers"
    )
    print(f"bare Flask endpoint:    {bare_rate:,.0f} requests/s median ({bare_rounds})")
    print(
        json.dumps(
            {
                "bench": "webhook_intake",
                "value": round(lumo_rate, 1),
                "unit": "requests/s",
                "baseline": round(bare_rate, 1),
                "ratio": round(lumo_rate / bare_rate, 4),
                "n": args.requests,
            }
        )
    )


if __name__ == "__main__":
    main()

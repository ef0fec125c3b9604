"""Counts a compound Segment over many friends: the compiler's SQL against hand-written SQL.

    .venv/bin/python bench/segment_count.py [--friends 1000000] [--runs 5]

Loads a throwaway PostgreSQL schema with generate_series (friends, customers, links, Shopify
customer tags, Lumo friend tags, orders, abandoned checkouts), then times the count of

    customer_tags CONTAINS 'vip' AND lumo_tags CONTAINS 'campaign'
    AND orders_placed MATCHES (date > -90d) AND abandoned_checkout_date > -7d
    AND line_follow_status = 'following'

through `lumo.segments` and through one hand-written query for the same audience, checks the
two counts agree, prints both and ends with the JSON line of `bench/`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lumo.extensions import db  # noqa: E402
from lumo.plugin_manager import build_plugin_manager  # noqa: E402
from lumo.segments.compiler import count_statement, make_context  # noqa: E402
from lumo.segments.dates import day_start, local_today  # noqa: E402
from lumo.segments.fields import SegmentFieldRegistry  # noqa: E402
from lumo.segments.parser import parse_segment  # noqa: E402
from lumo.segments.validation import validate_segment  # noqa: E402

SEGMENT = (
    "customer_tags CONTAINS 'vip' AND lumo_tags CONTAINS 'campaign' "
    "AND orders_placed MATCHES (date > -90d) AND abandoned_checkout_date > -7d "
    "AND line_follow_status = 'following'"
)

HAND_WRITTEN = """
SELECT count(*) FROM line_friends f
JOIN customer_friend_links l ON l.workspace_id = :ws AND l.friend_id = f.id
WHERE f.workspace_id = :ws AND f.follow_status = 'following'
  AND EXISTS (SELECT 1 FROM shopify_customer_tags t
              WHERE t.workspace_id = :ws AND t.customer_shopify_id = l.customer_shopify_id
                AND t.tag_key = 'vip')
  AND EXISTS (SELECT 1 FROM friend_lumo_tags ft JOIN lumo_tags lt ON lt.id = ft.lumo_tag_id
              WHERE ft.workspace_id = :ws AND ft.friend_id = f.id AND lt.name_key = 'campaign')
  AND EXISTS (SELECT 1 FROM shopify_orders o
              WHERE o.workspace_id = :ws AND o.customer_shopify_id = l.customer_shopify_id
                AND o.ordered_at >= :since_90)
  AND EXISTS (SELECT 1 FROM shopify_abandoned_checkouts c
              WHERE c.workspace_id = :ws AND c.customer_shopify_id = l.customer_shopify_id
                AND c.completed_at IS NULL AND c.created_at >= :since_7
                AND c.created_at <= :abandoned_before)
"""

LOAD = [
    "SELECT setseed(0.42)",
    "INSERT INTO workspaces (id, name, timezone, currency, created_at) "
    "VALUES (1, 'bench', 'Asia/Tokyo', 'JPY', now())",
    # friends: one in ten blocked, added over the last ~3 years
    "INSERT INTO line_friends (id, workspace_id, line_user_id, display_name, follow_status, "
    "friend_added_at, updated_at) SELECT g, 1, 'U' || g, NULL, "
    "CASE WHEN g % 10 = 0 THEN 'blocked' ELSE 'following' END, "
    "now() - (g % 1000) * interval '1 day', now() FROM generate_series(1, :n) g",
    # customers: 0.8 n, numbered 1..0.8n
    "INSERT INTO shopify_customers (workspace_id, shopify_id, number_of_orders, amount_spent, "
    "currency, state) SELECT 1, g, g % 7, (g % 7) * 3980, 'JPY', 'enabled' "
    "FROM generate_series(1, (:n * 8) / 10) g",
    # links: friends 1..0.7n ↔ customers with the same number
    "INSERT INTO customer_friend_links (workspace_id, customer_shopify_id, friend_id, method, "
    "linked_at) SELECT 1, g, g, 'bench', now() FROM generate_series(1, (:n * 7) / 10) g",
    # Shopify customer tags: vip on one customer in five, sale on one in seven
    "INSERT INTO shopify_customer_tags (workspace_id, customer_shopify_id, tag, tag_key) "
    "SELECT 1, g, 'VIP', 'vip' FROM generate_series(5, (:n * 8) / 10, 5) g",
    "INSERT INTO shopify_customer_tags (workspace_id, customer_shopify_id, tag, tag_key) "
    "SELECT 1, g, 'sale', 'sale' FROM generate_series(7, (:n * 8) / 10, 7) g",
    # Lumo friend tags: campaign on one friend in three, other on one in eleven
    "INSERT INTO lumo_tags (id, workspace_id, name, name_key, created_at) VALUES "
    "(1, 1, 'campaign', 'campaign', now()), (2, 1, 'other', 'other', now())",
    "INSERT INTO friend_lumo_tags (workspace_id, friend_id, lumo_tag_id, created_at) "
    "SELECT 1, g, 1, now() FROM generate_series(3, :n, 3) g",
    "INSERT INTO friend_lumo_tags (workspace_id, friend_id, lumo_tag_id, created_at) "
    "SELECT 1, g, 2, now() FROM generate_series(11, :n, 11) g",
    # orders: 2 n spread over two years and all customers (plus guest orders)
    "INSERT INTO shopify_orders (workspace_id, shopify_id, customer_shopify_id, total_price, "
    "currency, ordered_at) SELECT 1, g, "
    "CASE WHEN g % 50 = 0 THEN NULL ELSE 1 + floor(random() * ((:n * 8) / 10))::bigint END, "
    "1000 + g % 9000, 'JPY', now() - random() * interval '730 days' "
    "FROM generate_series(1::bigint, 2 * :n) g",
    # abandoned checkouts: n / 10 over the last 60 days, half of them recovered
    "INSERT INTO shopify_abandoned_checkouts (workspace_id, shopify_id, customer_shopify_id, "
    "total_price, currency, created_at, completed_at) SELECT 1, g, "
    "1 + floor(random() * ((:n * 8) / 10))::bigint, 5000, 'JPY', "
    "now() - random() * interval '60 days' - interval '2 hours', "
    "CASE WHEN g % 2 = 0 THEN now() ELSE NULL END FROM generate_series(1::bigint, :n / 10) g",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--friends", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    args = parser.parse_args()

    schema = f"bench_segments_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.database_url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = sa.create_engine(
        args.database_url, connect_args={"options": f"-c search_path={schema}"}
    )
    try:
        run(engine, args.friends, args.runs)
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run(engine: sa.Engine, friends: int, runs: int) -> None:
    import lumo.models  # noqa: F401  (registers the tables on db.metadata)

    started = time.perf_counter()
    db.metadata.create_all(engine)
    with engine.begin() as connection:
        for statement in LOAD:
            connection.execute(sa.text(statement), {"n": friends})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE"))
    print(f"loaded {friends} friends in {time.perf_counter() - started:.1f} s")

    registry = SegmentFieldRegistry.from_plugin_manager(build_plugin_manager(entry_points=False))
    now = datetime.now(UTC)
    segment = parse_segment(SEGMENT)
    validate_segment(segment, registry)
    context = make_context(1, registry, timezone="Asia/Tokyo", now=now)
    compiled = count_statement(segment, context)

    zone = ZoneInfo("Asia/Tokyo")
    today = local_today(now, zone)
    bounds = {
        "ws": 1,
        "since_90": day_start(today - timedelta(days=90), zone).replace(tzinfo=None),
        "since_7": day_start(today - timedelta(days=7), zone).replace(tzinfo=None),
        "abandoned_before": (now - timedelta(hours=1)).replace(tzinfo=None),
    }

    with engine.connect() as connection:

        def by_compiler() -> int:
            return int(connection.execute(compiled).scalar_one())

        def by_hand() -> int:
            return int(connection.execute(sa.text(HAND_WRITTEN), bounds).scalar_one())

        compiler_ms, compiler_count = timed(by_compiler, runs)
        hand_ms, hand_count = timed(by_hand, runs)

    if compiler_count != hand_count:
        raise SystemExit(f"counts differ: compiler {compiler_count}, hand-written {hand_count}")
    print(f"segment: {SEGMENT}")
    print(f"members: {compiler_count} of {friends} friends")
    print(f"compiler:     median {compiler_ms:8.1f} ms over {runs} runs")
    print(f"hand-written: median {hand_ms:8.1f} ms over {runs} runs")
    print(
        json.dumps(
            {
                "bench": "segment_count",
                "value": round(compiler_ms, 2),
                "unit": "ms",
                "baseline": round(hand_ms, 2),
                "ratio": round(compiler_ms / hand_ms, 3),
                "n": friends,
            }
        )
    )


def timed(query: object, runs: int) -> tuple[float, int]:
    """Median milliseconds of `runs` executions after one warm-up, and the result."""
    assert callable(query)
    result = query()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = query()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), result


if __name__ == "__main__":
    main()

"""Time load_demo_store on the full compact data, against only unpacking and parsing its CSV."""

from __future__ import annotations

import csv
import gzip
import io
import json
import time
from datetime import UTC, datetime

from lumo.sandbox.demo_data import build, load_demo_store, sources


def parse_only() -> int:
    """The floor: gunzip and csv-parse transactions.csv.gz, nothing else."""
    path = sources.COMPACT_DIR / "transactions.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(io.StringIO(handle.read())))


def main() -> None:
    started = time.perf_counter()
    rows = parse_only()
    baseline = time.perf_counter() - started

    build.clear_cache()
    started = time.perf_counter()
    store = load_demo_store(now=datetime(2026, 6, 1, tzinfo=UTC))
    first = time.perf_counter() - started
    started = time.perf_counter()
    load_demo_store(now=datetime(2026, 6, 1, tzinfo=UTC))
    again = time.perf_counter() - started

    report = store.report
    print(f"compact rows parsed only: {rows} in {baseline:.2f} s")
    print(f"load_demo_store first call: {first:.2f} s, cached input: {again:.2f} s")
    print(
        f"customers {report.customers}, orders {report.orders}, line items {report.line_items}, "
        f"checkouts {report.checkouts}, skipped {report.skipped_total} of {report.rows_read}"
    )
    result = {
        "bench": "demo_data_load",
        "value": round(first, 3),
        "unit": "s",
        "baseline": round(baseline, 3),
        "ratio": round(first / baseline, 2),
        "n": report.rows_read,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Rebuilds the compact demo data in this package from ../shared/data.

Run `python -m lumo.sandbox.demo_data.compact` from the repository root. The output keeps only
the columns the loader reads, gzip-compressed with a fixed timestamp so a rebuild from the same
input gives the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import logging
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from lumo.sandbox.demo_data import sources

logger = logging.getLogger(__name__)


def write_compact(shared_dir: Path | None = None, out_dir: Path | None = None) -> dict[str, int]:
    """Writes the catalog, transaction and stock-code files; returns their sizes in bytes."""
    shared_dir = shared_dir or sources.SHARED_DATA_DIR
    out_dir = out_dir or sources.COMPACT_DIR
    catalog_dir, by_day_dir = sources.shared_paths(shared_dir)
    sizes: dict[str, int] = {}

    for name in sources.CATALOG_NAMES:
        path = catalog_dir / f"{name}.csv"
        if not path.is_file():
            raise sources.DemoDataMissing(
                f"{path} is missing; the compact files can only be rebuilt from ../shared/data."
            )
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = [c for c in sources.CATALOG_COLUMNS if c in (reader.fieldnames or [])]
            rows = [[row[column] for column in columns] for row in reader]
        target = out_dir / f"catalog-{name}.csv.gz"
        sizes[target.name] = _write_gzip_csv(target, columns, rows)

    retail = sources.read_retail_by_day(by_day_dir)
    target = out_dir / "transactions.csv.gz"
    sizes[target.name] = _write_gzip_csv(target, sources.RETAIL_COLUMNS, _elided(retail.rows))
    target = out_dir / "stock_codes.csv.gz"
    codes = sorted(retail.descriptions.items())
    sizes[target.name] = _write_gzip_csv(target, ("StockCode", "Description"), codes)
    logger.info("compact demo data: %d files, %d bytes", len(sizes), sum(sizes.values()))
    return sizes


def _elided(rows: Iterable[sources.RetailRow]) -> Iterable[Sequence[str]]:
    """Blanks the invoice header fields when they repeat the previous row's."""
    previous: tuple[str, str, str, str] | None = None
    for invoice, code, quantity, when, price, customer, country in rows:
        header = (invoice, when, customer, country)
        if header == previous:
            yield ("", code, quantity, "", price, "", "")
        else:
            yield (invoice, code, quantity, when, price, customer, country)
        previous = header


def _write_gzip_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> int:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    with path.open("wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as packed:
        packed.write(text.getvalue().encode("utf-8"))
    return path.stat().st_size


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shared", type=Path, default=None, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=None, help="where to write the files")
    args = parser.parse_args(argv)
    sizes = write_compact(args.shared, args.out)
    for name, size in sizes.items():
        sys.stdout.write(f"{name}\t{size}\n")
    sys.stdout.write(f"total\t{sum(sizes.values())}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Where the demo store's input lives and how to read it: compact files here, or ../shared."""

from __future__ import annotations

import csv
import gzip
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

# The compact files sit next to this module; ../shared is the checkout's sibling folder.
COMPACT_DIR = Path(__file__).resolve().parent
SHARED_DATA_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data"

CATALOG_NAMES = ("apparel", "home-and-garden", "jewelery")
CATALOG_COLUMNS = (
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Type",
    "Tags",
    "Published",
    "Status",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Option3 Name",
    "Option3 Value",
    "Variant SKU",
    "Variant Inventory Qty",
    "Variant Price",
)
RETAIL_COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
SOURCES = ("compact", "shared")

# (invoice, stock code, quantity, "YYYY-MM-DD HH:MM", unit price, customer id or "", country)
RetailRow = tuple[str, str, str, str, str, str, str]


class DemoDataMissing(FileNotFoundError):
    """The demo store's input files are not where they should be."""


@dataclass
class RetailInput:
    """The retailer's rows, normalised alike from either source."""

    rows: list[RetailRow]
    descriptions: dict[str, str]
    files: int
    malformed: int = 0


@dataclass
class CatalogInput:
    """Shopify product-CSV rows per sample catalog, keyed by column name."""

    files: list[tuple[str, list[dict[str, str]]]] = field(default_factory=list)


def check_source(source: str) -> None:
    if source not in SOURCES:
        raise ValueError(f"Unknown demo data source {source!r}; use 'compact' or 'shared'.")


def shared_paths(shared_dir: Path) -> tuple[Path, Path]:
    return shared_dir / "shopify-sample-products", shared_dir / "online-retail-uci" / "by-day"


def normal_customer(text: str) -> str:
    """CustomerID as digits: the source writes 17850.0."""
    text = text.strip()
    return text[:-2] if text.endswith(".0") else text


def normal_time(text: str) -> str:
    """InvoiceDate without the seconds, which are always :00 in the source."""
    text = text.strip()
    return text[:16] if len(text) == 19 and text.endswith(":00") else text


def stock_key(code: str) -> str:
    """Stock codes compared without case: the source has both 85123A and 85123a."""
    return code.strip().upper()


def read_catalog(source: str) -> CatalogInput:
    """The three Shopify sample catalogs, from the compact files or ../shared."""
    check_source(source)
    catalog = CatalogInput()
    for name in CATALOG_NAMES:
        if source == "shared":
            path = shared_paths(SHARED_DATA_DIR)[0] / f"{name}.csv"
            text = _read_text(path, gzipped=False)
        else:
            path = COMPACT_DIR / f"catalog-{name}.csv.gz"
            text = _read_text(path, gzipped=True)
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        catalog.files.append((name, rows))
    return catalog


def read_retail(source: str) -> RetailInput:
    """The retailer's invoice rows, from the compact files or the by-day CSVs in ../shared."""
    check_source(source)
    if source == "shared":
        return read_retail_by_day(shared_paths(SHARED_DATA_DIR)[1])
    return read_retail_compact(COMPACT_DIR)


def read_retail_by_day(folder: Path) -> RetailInput:
    """Reads every YYYY-MM-DD.csv in date order, as published."""
    paths = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    if not paths:
        raise DemoDataMissing(
            f"No retail by-day CSVs in {folder}. Use source='compact' (the files kept in "
            "lumo/sandbox/demo_data) or restore ../shared/data/online-retail-uci."
        )
    data = RetailInput(rows=[], descriptions={}, files=len(paths))
    for path in paths:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            at = [header.index(column) for column in RETAIL_COLUMNS]
            described = header.index("Description")
            width = len(header)
            for row in reader:
                if len(row) != width:
                    data.malformed += 1
                    continue
                data.rows.append(
                    (
                        row[at[0]].strip(),
                        row[at[1]].strip(),
                        row[at[2]].strip(),
                        normal_time(row[at[3]]),
                        row[at[4]].strip(),
                        normal_customer(row[at[5]]),
                        row[at[6]].strip(),
                    )
                )
                description = row[described].strip()
                if description:
                    data.descriptions.setdefault(stock_key(row[at[1]]), description)
    logger.info("read %d retail rows from %d by-day files", len(data.rows), len(paths))
    return data


def read_retail_compact(folder: Path) -> RetailInput:
    """Reads transactions.csv.gz, where a blank InvoiceNo repeats the previous row's header."""
    text = _read_text(folder / "transactions.csv.gz", gzipped=True)
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader, None)
    rows: list[RetailRow] = []
    malformed = 0
    invoice = when = customer = country = ""
    for row in reader:
        if len(row) != 7:
            malformed += 1
            continue
        if row[0]:
            invoice, when, customer, country = row[0], row[3], row[5], row[6]
        rows.append((invoice, row[1], row[2], when, row[4], customer, country))

    codes = _read_text(folder / "stock_codes.csv.gz", gzipped=True)
    code_reader = csv.reader(io.StringIO(codes, newline=""))
    next(code_reader, None)
    descriptions = {row[0]: row[1] for row in code_reader if len(row) == 2}
    return RetailInput(rows=rows, descriptions=descriptions, files=1, malformed=malformed)


def _read_text(path: Path, *, gzipped: bool) -> str:
    if not path.is_file():
        raise DemoDataMissing(
            f"Demo data file {path} is missing. Rebuild the compact files with "
            "`python -m lumo.sandbox.demo_data.compact` (needs ../shared/data), or load "
            "with source='compact' if ../shared is absent."
        )
    if gzipped:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
            return handle.read()
    return path.read_text(encoding="utf-8")

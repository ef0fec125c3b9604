"""Writing mapped rows: batched `INSERT … ON CONFLICT DO UPDATE` with a staleness guard.

Only the columns a row carries are written, so a payload that lacks a field never blanks it.
The guard lives in the ON CONFLICT WHERE clause: an existing row whose `shopify_updated_at`
is newer than the incoming one is left alone. A row with `replace_children` replaces its child
rows (a customer's Shopify customer tags, an order's line items) only when it was itself
written, so an older payload changes neither the row nor its children.

On PostgreSQL a big group (a bulk sync's batch) is first `COPY`d into a temporary staging table
and written with one `INSERT … SELECT … ON CONFLICT`: the same statement and guard, without
rendering thousands of bind parameters. Small groups (webhooks) use a plain multi-row insert.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import psycopg
from psycopg import postgres
from psycopg._copy_base import format_row_text
from psycopg.adapt import AdaptersMap, Dumper, Transformer
from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
    Column,
    String,
    Table,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
)
from sqlalchemy import column as column_clause
from sqlalchemy import table as table_clause
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB

from lumo.extensions import db
from lumo.mapping import Row
from lumo.models.base import UTCDateTime

logger = logging.getLogger(__name__)

UPDATED = "shopify_updated_at"
SEEN = "last_sync_run_id"
#: Groups at least this big are staged with COPY on PostgreSQL.
COPY_THRESHOLD = 100

_processors: dict[tuple[str, str, str], Callable[[Any], Any] | None] = {}


@dataclass
class WriteResult:
    """What one call wrote: rows written and rows skipped as older, per table."""

    written: dict[str, int] = field(default_factory=dict)
    stale: dict[str, int] = field(default_factory=dict)

    def add(self, other: WriteResult) -> None:
        for name, count in other.written.items():
            self.written[name] = self.written.get(name, 0) + count
        for name, count in other.stale.items():
            self.stale[name] = self.stale.get(name, 0) + count

    @property
    def total(self) -> int:
        return sum(self.written.values())


@dataclass
class _Unit:
    parent: Row
    children: list[Row]


def rowcount(result: Any) -> int:
    """Rows a DELETE or UPDATE touched."""
    return int(getattr(result, "rowcount", 0) or 0)


def table(name: str) -> Table:
    try:
        return db.metadata.tables[name]
    except KeyError:
        raise KeyError(f"No table {name!r}; check the category's `table`.") from None


def write_rows(
    rows: Iterable[Row], *, session: Any = None, run_id: int | None = None
) -> WriteResult:
    """Upsert `rows` (in this order of parents, then their children) in the current transaction.

    `run_id` stamps `last_sync_run_id` on tables that have it (the re-sync's mark).
    """
    session = session or db.session
    units = _units(rows)
    result = WriteResult()

    applied: set[tuple[str, tuple[Any, ...]]] = set()
    kept: set[int] = set()  # the parent rows that won over others with their key
    for name, group in _group([u.parent for u in units]).items():
        keys = _upsert(session, table(name[0]), group, run_id, result)
        applied |= {(name[0], key) for key in keys}
        kept |= {id(row) for row in group}

    replaced = [u for u in units if u.parent.replace_children]
    children_by_table: dict[str, list[Row]] = {}
    for unit in replaced:
        # A parent given twice (an order exported twice) keeps only the winner's children.
        if id(unit.parent) not in kept or (unit.parent.table, _key(unit.parent)) not in applied:
            continue
        for child in unit.children:
            children_by_table.setdefault(child.table, []).append(child)
    _delete_children(session, replaced, applied)
    for name, group in _group(
        [row for rows_ in children_by_table.values() for row in rows_]
    ).items():
        _upsert(session, table(name[0]), group, run_id, result)
    return result


def _units(rows: Iterable[Row]) -> list[_Unit]:
    """Each parent with the child rows that follow it and name it as their parent.

    A child row naming another parent (a bulk line that came after its parent was written)
    is a unit of its own: it must not share the fate of the parent it happens to follow.
    """
    units: list[_Unit] = []
    replaced: dict[str, str] = {}
    parent_id: Any = None
    children: list[Row] = []
    for row in rows:
        if replaced and row.table in replaced and row.values.get(replaced[row.table]) == parent_id:
            children.append(row)
            continue
        replaced = row.replace_children
        parent_id = row.values.get("shopify_id")
        children = []
        units.append(_Unit(row, children))
    return units


def units_of(rows: Iterable[Row]) -> list[list[Row]]:
    """`rows` split into units: a parent with the children it replaces, or a single row."""
    return [[unit.parent, *unit.children] for unit in _units(rows)]


_key_getters: dict[tuple[str, ...], Callable[[Mapping[str, Any]], tuple[Any, ...]]] = {}


def _key_getter(columns: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A fast `values -> key tuple` for a key's columns (cached; keys are few)."""
    getter = _key_getters.get(columns)
    if getter is None:
        if len(columns) == 1:
            only = columns[0]
            getter = lambda values: (values[only],)  # noqa: E731
        else:
            getter = itemgetter(*columns)
        _key_getters[columns] = getter
    return getter


def _key(row: Row) -> tuple[Any, ...]:
    return _key_getter(row.key)(row.values)


def _group(rows: Sequence[Row]) -> dict[tuple[str, tuple[str, ...], frozenset[str]], list[Row]]:
    """Rows per (table, key, column set), one per key: the newest version wins."""
    groups: dict[tuple[str, tuple[str, ...], frozenset[str]], dict[tuple[Any, ...], Row]] = {}
    shapes: dict[tuple[str, tuple[str, ...], tuple[str, ...]], dict[tuple[Any, ...], Row]] = {}
    for row in rows:
        shape = (row.table, row.key, tuple(row.values))
        bucket = shapes.get(shape)
        if bucket is None:
            name = (row.table, row.key, frozenset(row.values))
            bucket = shapes[shape] = groups.setdefault(name, {})
        key = _key_getter(row.key)(row.values)
        kept = bucket.get(key)
        if kept is None or _newer_or_equal(row, kept):
            bucket[key] = row
    return {name: list(bucket.values()) for name, bucket in groups.items()}


def _newer_or_equal(row: Row, other: Row) -> bool:
    if row.updated_at is None or other.updated_at is None:
        return True
    return row.updated_at >= other.updated_at


def _upsert(
    session: Any,
    target: Table,
    rows: list[Row],
    run_id: int | None,
    result: WriteResult,
) -> list[tuple[Any, ...]]:
    """One batched upsert; returns the keys of the rows actually written."""
    if not rows:
        return []
    key_columns = rows[0].key
    stamp = run_id is not None and SEEN in target.c
    has_updated = UPDATED in target.c
    given = [target.c[name] for name in rows[0].values if name in target.c]
    # Where a NUL character could arrive; and texts with a length limit, keys excepted (two
    # long keys sharing a prefix would become one row).
    texts = [column.name for column in given if isinstance(column.type, String | JSON)]
    bounded = [
        (column.name, int(column.type.length))
        for column in given
        if isinstance(column.type, String)
        and column.type.length
        and column.name not in key_columns
    ]
    params = []
    for row in rows:
        values = dict(row.values)
        if row.updated_at is not None and has_updated:
            values.setdefault(UPDATED, row.updated_at)
        if stamp:
            values[SEEN] = run_id
        for name in texts:
            text_ = values[name]
            if text_.__class__ is str:
                if "\x00" in text_:
                    values[name] = text_.replace("\x00", "")
            elif text_.__class__ is dict:
                values[name] = _without_nul(text_)
        for name, size in bounded:
            text_ = values[name]
            if text_.__class__ is str and len(text_) > size:
                values[name] = _fit(target, name, size, text_, key_columns, values)
        params.append(values)

    bind = session.get_bind()
    dialect = bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(target)
    names = list(params[0])
    staged = dialect == "postgresql" and len(params) >= COPY_THRESHOLD
    if staged:
        source = _stage(session, target, names, params)
        statement = insert(target).from_select(names, select(*source.c))  # type: ignore[arg-type]
    columns = [c for c in names if c not in key_columns]
    if staged and columns and set(columns) <= {UPDATED, SEEN}:
        return _touch(session, target, source, names, key_columns, params, result)
    if not columns:
        # Nothing to update and no age to compare: every key counts as written.
        statement = statement.on_conflict_do_nothing(index_elements=list(key_columns))
        session.execute(statement, None if staged else params)
        result.written[target.name] = result.written.get(target.name, 0) + len(params)
        return [tuple(p[name] for name in key_columns) for p in params]
    else:
        excluded = statement.excluded
        guard = None
        if UPDATED in params[0]:
            guard = or_(
                target.c[UPDATED].is_(None),
                excluded[UPDATED].is_(None),
                target.c[UPDATED] <= excluded[UPDATED],
            )
        set_ = {name: excluded[name] for name in columns}
        if "extra" in set_:
            set_["extra"] = _merged_extra(dialect, target, excluded)
        statement = statement.on_conflict_do_update(
            index_elements=list(key_columns), set_=set_, where=guard
        )
    returning = statement.returning(*(target.c[name] for name in key_columns))
    if staged:
        written = _fetch_raw(session, returning)
    else:
        written = [tuple(r) for r in session.execute(returning, params)]

    result.written[target.name] = result.written.get(target.name, 0) + len(written)
    skipped = len(params) - len(written)
    if skipped:
        result.stale[target.name] = result.stale.get(target.name, 0) + skipped
    return written


def _without_nul(value: Any) -> Any:
    """`value` with NUL characters removed from every string in it.

    PostgreSQL's text and JSON types cannot hold NUL (U+0000), which Shopify's free-text
    fields can carry; one such character would otherwise make the database refuse the batch.
    """
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _fit(
    target: Table,
    name: str,
    size: int,
    value: str,
    key_columns: tuple[str, ...],
    values: dict[str, Any],
) -> str:
    """Cut a text longer than its column, so one odd record never fails a whole batch.

    PostgreSQL would reject the batch and SQLite would keep the long text; cutting it keeps
    both the same. The log names the row, never the text.
    """
    key = tuple(values.get(column) for column in key_columns)
    logger.warning(
        "%s.%s of row %s is %d characters; stored its first %d",
        target.name,
        name,
        key,
        len(value),
        size,
    )
    return value[:size]


def _touch(
    session: Any,
    target: Table,
    source: Any,
    names: list[str],
    key_columns: tuple[str, ...],
    params: list[dict[str, Any]],
    result: WriteResult,
) -> list[tuple[Any, ...]]:
    """Upsert key-and-age rows (a parent row that only guards its children), rewriting none
    that already hold the same values.

    A bulk sync sends each order twice (its own category, then line items); rewriting an
    identical row costs a new row version and index entries. ON CONFLICT still locks every
    conflicting row, so the staleness read afterwards is exact until commit.
    """
    copied = select(*source.c)
    statement = postgresql.insert(target).from_select(names, copied)  # type: ignore[arg-type]
    excluded = statement.excluded
    columns = [c for c in names if c not in key_columns]
    changed = or_(*(target.c[c].is_distinct_from(excluded[c]) for c in columns))
    if UPDATED in columns:
        changed = and_(
            changed,
            or_(
                target.c[UPDATED].is_(None),
                excluded[UPDATED].is_(None),
                target.c[UPDATED] <= excluded[UPDATED],
            ),
        )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=list(key_columns),
            set_={c: excluded[c] for c in columns},
            where=changed,
        )
    )
    stale: set[tuple[Any, ...]] = set()
    if UPDATED in columns:
        stale = set(_fetch_raw(session, _newer_stored(target, source, key_columns)))
    keys = [tuple(p[k] for k in key_columns) for p in params]
    written = [key for key in keys if key not in stale]
    result.written[target.name] = result.written.get(target.name, 0) + len(written)
    if stale:
        result.stale[target.name] = result.stale.get(target.name, 0) + len(keys) - len(written)
    return written


def _newer_stored(target: Table, source: Any, key_columns: tuple[str, ...]) -> Any:
    """Keys of staged rows whose stored row is newer, probing the key index once per row.

    A plain join lets the planner hash the whole target table (it knows nothing of a fresh
    temporary table), which costs a full scan per batch: quadratic over a big store. The
    LATERAL probe with LIMIT 1 keeps every batch proportional to its own size.
    """
    newer = (
        select(literal_column("1"))
        .select_from(target)
        .where(
            *(target.c[k] == source.c[k] for k in key_columns),
            target.c[UPDATED] > source.c[UPDATED],
        )
        .limit(1)
        .lateral()
    )
    keys = (source.c[k] for k in key_columns)
    return select(*keys).select_from(source.join(newer, true()))


def _fetch_raw(session: Any, statement: Any) -> list[tuple[Any, ...]]:
    """Run a parameterless statement on the driver's cursor and fetch every row at once.

    A bulk batch returns thousands of keys; psycopg's own `fetchall` builds them in C, which
    is several times faster than going through SQLAlchemy's per-row result processing.
    """
    connection = session.connection()
    compiled = statement.compile(dialect=connection.dialect)
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:
        cursor.execute(str(compiled), compiled.params or None)
        return cursor.fetchall()


def _stage(session: Any, target: Table, names: list[str], params: list[dict[str, Any]]) -> Any:
    """COPY `params` into a temporary table with `names` typed as in `target`.

    The staging table is named after the target and its column set, kept by the database
    session and emptied at every commit: creating and dropping a table per batch churns the
    catalog, and a fresh name per batch would make every batch's statements new to
    SQLAlchemy's statement cache, which then grows to its limit over a big sync.
    """
    pick = itemgetter(*names)
    if len(names) == 1:
        tuples: Iterable[Sequence[Any]] = ((pick(values),) for values in params)
    else:
        tuples = (pick(values) for values in params)
    return stage_tuples(session, target, names, tuples)


def stage_tuples(
    session: Any, target: Table, names: Sequence[str], tuples: Iterable[Sequence[Any]]
) -> Any:
    """COPY `tuples` into this transaction's staging table for `target` and `names` (emptied
    first); returns it as a table clause to select from."""
    name = staging_table(session, target, names)
    copy_into(session, target, names, tuples, into=name)
    return table_clause(name, *(column_clause(n) for n in names))


def staging_table(session: Any, target: Table, names: Sequence[str]) -> str:
    """The name of this session's empty staging table for `target` and `names`."""
    connection = session.connection()
    name = _stage_name(target, names)
    quoted = ", ".join(f'"{n}"' for n in names)
    connection.exec_driver_sql(
        f'CREATE TEMPORARY TABLE IF NOT EXISTS "{name}" ON COMMIT DELETE ROWS AS '
        f'SELECT {quoted} FROM "{target.name}" WITH NO DATA'
    )
    connection.exec_driver_sql(f'DELETE FROM "{name}"')  # staged before in this transaction
    return name


def copy_into(
    session: Any,
    target: Table,
    names: Sequence[str],
    tuples: Iterable[Sequence[Any]],
    *,
    into: str | None = None,
) -> None:
    """COPY `tuples` (values in the order of `names`) into `target`, or into the table `into`
    whose columns are typed like `target`'s.

    Values go through the columns' own bind processing (JSON serialisation, UTC conversion),
    exactly as an INSERT's parameters would (see `CopyText`).
    """
    dialect = session.connection().dialect
    text = CopyText(target, names, dialect, text_instants=False).format(tuples)
    copy_text(session, into or target.name, names, text)


def copy_text(session: Any, into: str, names: Sequence[str], data: bytes) -> None:
    """COPY rows already in PostgreSQL's text format (see `CopyText`) into the table `into`."""
    raw = session.connection().connection.driver_connection
    quoted = ", ".join(f'"{n}"' for n in names)
    with raw.cursor() as cursor, cursor.copy(f'COPY "{into}" ({quoted}) FROM STDIN') as copy:
        copy.write(data)


class CopyText:
    """Rows of one table turned into COPY text, without a database connection.

    Values go through the columns' own bind processing first, as `copy_into` does, then
    through psycopg's own text formatting (its C implementation; psycopg is pinned, and this
    is the function its `Copy.write_row` calls). Needing no connection, the text can be made
    in another process than the one that sends it.
    """

    def __init__(
        self, target: Table, names: Sequence[str], dialect: Any, *, text_instants: bool = True
    ) -> None:
        """With `text_instants` (the COPY lane's rows), instant columns skip their bind
        processing: their values are mostly Shopify's UTC text, taken as it is, and a call
        per value would cost more than the formatting; datetimes are written as naive UTC by
        the formatter instead. Without it, every value goes through its column's processing,
        exactly as an INSERT's parameters would."""
        self.processors = [
            (i, fn)
            for i, n in enumerate(names)
            if not (text_instants and isinstance(target.c[n].type, UTCDateTime))
            and (fn := _processor(target.c[n], dialect))
        ]
        self.transformer = Transformer(_UTC_INSTANTS if text_instants else _PLAIN)

    def format(self, rows: Iterable[Sequence[Any]]) -> bytes:
        """The text of `rows`. A text with a NUL character, which PostgreSQL cannot store,
        is stored without it, as the upserts store it."""
        rows = rows if isinstance(rows, list) else list(rows)  # read again after a NUL
        try:
            return self._format(rows)
        except psycopg.DataError:
            return self._format(
                [[v.replace("\x00", "") if v.__class__ is str else v for v in r] for r in rows]
            )

    def _format(self, rows: Iterable[Sequence[Any]]) -> bytes:
        out = bytearray()
        processors, transformer = self.processors, self.transformer
        for values in rows:
            if processors:
                values = list(values)  # the rows stay as given, should they be formatted again
                for i, fn in processors:
                    values[i] = fn(values[i])
            format_row_text(values, transformer, out)
        return bytes(out)


class _UTCTimestampText(Dumper):
    """COPY text of a datetime for a `UTCDateTime` column: the instant in UTC, without zone
    (PostgreSQL ignores an offset given to a column without a time zone)."""

    oid = postgres.types["timestamp"].oid

    def dump(self, obj: datetime) -> bytes:
        return str(naive_utc(obj)).encode()


@dataclass(frozen=True)
class _CopyContext:
    """A psycopg adaptation context without a connection."""

    adapters: AdaptersMap
    connection: None = None


_PLAIN = _CopyContext(postgres.adapters)
_UTC_INSTANTS = _CopyContext(AdaptersMap(postgres.adapters))
_UTC_INSTANTS.adapters.register_dumper(datetime, _UTCTimestampText)


def _stage_name(target: Table, names: Sequence[str]) -> str:
    """A stable name for one target and column set (types included, should a migration
    change one while a pooled session still holds the old table)."""
    shape = ";".join(f"{n}:{target.c[n].type}" for n in names)
    digest = hashlib.blake2s(f"{target.name}|{shape}".encode(), digest_size=8).hexdigest()
    return f"lumo_stage_{digest}"


def _processor(target_column: Column[Any], dialect: Any) -> Callable[[Any], Any] | None:
    key = (dialect.name, str(target_column.table), target_column.name)
    if key not in _processors:
        if isinstance(target_column.type, UTCDateTime):
            _processors[key] = _copied_utc
        else:
            _processors[key] = target_column.type.dialect_impl(dialect).bind_processor(dialect)
    return _processors[key]


def _copied_utc(value: datetime | str | None) -> datetime | str | None:
    """A `UTCDateTime` value as COPY text: an instant already in UTC goes as it is.

    Its text carries `+00:00` (or Shopify's `Z`, from a `CopyPlan`), which PostgreSQL ignores
    for a column without a time zone, so only instants in another zone (or naive ones) need
    converting. Mappers hand over UTC instants almost always, and a bulk batch carries tens of
    thousands.
    """
    if value is None or isinstance(value, str) or value.tzinfo is UTC:
        return value
    return naive_utc(value)


def naive_utc(value: datetime | None) -> datetime | None:
    """`UTCDateTime`'s bind conversion, with a shortcut for values already in UTC.

    Mappers hand over UTC instants almost always; skipping the conversion for them matters
    when a bulk batch carries tens of thousands.
    """
    if value is None:
        return None
    if value.tzinfo is UTC:
        return value.replace(tzinfo=None)
    return UTCDateTime().process_bind_param(value, None)


def _merged_extra(dialect: str, target: Table, excluded: Any) -> Any:
    """`extra` keys merge into the stored ones: a payload lacking a key keeps its value."""
    if dialect == "postgresql":
        stored = func.coalesce(cast(target.c.extra, JSONB), text("'{}'::jsonb"))
        return cast(stored.op("||")(cast(excluded.extra, JSONB)), JSON)
    return func.json_patch(func.coalesce(target.c.extra, "{}"), excluded.extra)


def _delete_children(
    session: Any, units: list[_Unit], applied: set[tuple[str, tuple[Any, ...]]]
) -> None:
    """Delete the existing children of every written parent that replaces them."""
    by_child: dict[tuple[str, str], dict[int, list[Any]]] = {}
    for unit in units:
        parent = unit.parent
        if (parent.table, _key(parent)) not in applied:
            continue
        for child_table, column in parent.replace_children.items():
            per_workspace = by_child.setdefault((child_table, column), {})
            per_workspace.setdefault(parent.values["workspace_id"], []).append(
                parent.values["shopify_id"]
            )
    postgres = session.get_bind().dialect.name == "postgresql"
    for (child_table, column), per_workspace in by_child.items():
        target = table(child_table)
        for workspace_id, parent_ids in per_workspace.items():
            if postgres:
                # One array parameter instead of thousands of IN parameters.
                ids = bindparam("parent_ids", parent_ids, type_=ARRAY(BigInteger))
                matches = target.c[column] == any_(ids)
            else:
                matches = target.c[column].in_(parent_ids)
            session.execute(delete(target).where(target.c.workspace_id == workspace_id, matches))


def delete_matching(session: Any, table_name: str, key: Mapping[str, Any]) -> int:
    """Delete the rows of `table_name` whose columns equal `key` (a webhook delete)."""
    target = table(table_name)
    if "workspace_id" not in key or any(value is None for value in key.values()):
        raise ValueError(f"A delete needs the workspace and a full key, got {sorted(key)}.")
    statement = delete(target).where(
        and_(*(target.c[name] == value for name, value in key.items()))
    )
    return rowcount(session.execute(statement))

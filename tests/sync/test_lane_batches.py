"""Batches prepared in a forked process arrive in order, once each, whatever happens."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lumo.shopify.errors import TruncatedBulkResultError
from lumo.sync.copy_lane import LaneBatch
from lumo.sync.lane_batches import (
    ForkedBatches,
    InlineBatches,
    Ordinary,
    Preparation,
    Prepared,
)

pytestmark = pytest.mark.skipif(not ForkedBatches.available(), reason="needs os.fork")


def grouped(count: int, size: int = 3) -> Iterator[list[dict[str, Any]]]:
    for index in range(count):
        yield [{"n": index * size + k} for k in range(size)]


def prepare(index: int, records: list[dict[str, Any]]) -> Prepared:
    text = "".join(f"{r['n']}\n" for r in records).encode()
    return LaneBatch(index, records, copied={"t": (text, len(records))})


def remap(records: list[dict[str, Any]]) -> Ordinary:
    return [r["n"] for r in records], []  # type: ignore[return-value]


def numbers(batch: Prepared) -> list[int]:
    if isinstance(batch, LaneBatch):
        return [int(n) for n in batch.copied["t"][0].split()]
    return list(batch[0])  # type: ignore[arg-type]


@pytest.mark.parametrize("source", [ForkedBatches, InlineBatches])
def test_every_batch_arrives_once_in_order(source: Any) -> None:
    batches = source(Preparation(grouped(50), prepare, remap))
    try:
        seen = [n for batch in batches for n in numbers(batch)]
    finally:
        batches.close()
    assert seen == list(range(150))


@pytest.mark.parametrize("refused", [0, 7, 49])
def test_a_refused_batch_and_every_later_one_come_the_ordinary_way(refused: int) -> None:
    batches = ForkedBatches(Preparation(grouped(50), prepare, remap))
    kinds, seen = [], []
    try:
        for batch in batches:
            if isinstance(batch, LaneBatch) and batch.index == refused:
                assert batch.records is None  # records stay in the child
                batch = batches.ordinary(batch)
            kinds.append(isinstance(batch, LaneBatch))
            seen += numbers(batch)
    finally:
        batches.close()

    assert seen == list(range(150))
    assert kinds == [True] * refused + [False] * (50 - refused)


@pytest.mark.parametrize(
    "extra",
    [
        {"text": '日本語 \u2028 "quoted"', "price": 12.5, "none": None},
        {"big": 1 << 70},  # past what JSON keeps exactly: kept as objects instead
    ],
)
def test_records_sent_again_after_a_refusal_are_the_ones_prepared(extra: dict[str, Any]) -> None:
    def records(count: int) -> Iterator[list[dict[str, Any]]]:
        for batch in grouped(count):
            yield [{**record, **extra} for record in batch]

    def remap_whole(batch: list[dict[str, Any]]) -> Ordinary:
        return batch, []  # type: ignore[return-value]

    batches = ForkedBatches(Preparation(records(6), prepare, remap_whole))
    again: list[dict[str, Any]] = []
    try:
        for batch in batches:
            if isinstance(batch, LaneBatch) and batch.index == 2:
                batch = batches.ordinary(batch)
            if not isinstance(batch, LaneBatch):
                again += batch[0]  # type: ignore[arg-type]
    finally:
        batches.close()

    assert again == [record for batch in records(6) for record in batch][6:]
    kinds = {key: type(value) for key, value in extra.items()}
    assert all(type(record[key]) is kind for record in again for key, kind in kinds.items())


class Unpicklable(Exception):
    def __init__(self, message: str, *, needed: object) -> None:
        super().__init__(message)
        self.needed = needed

    def __reduce__(self) -> Any:
        raise TypeError("cannot pickle")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (TruncatedBulkResultError("the download was cut short"), TruncatedBulkResultError),
        (Unpicklable("odd failure", needed=1), RuntimeError),
    ],
)
def test_an_error_in_the_child_is_raised_with_its_message(
    error: BaseException, expected: type[BaseException]
) -> None:
    def failing(index: int, records: list[dict[str, Any]]) -> Prepared:
        if index == 3:
            raise error
        return prepare(index, records)

    batches = ForkedBatches(Preparation(grouped(10), failing, remap))
    received = []
    with pytest.raises(expected, match=str(error)):
        try:
            for batch in batches:
                received.append(batch)
                time.sleep(0.05)  # writing: the child fails and ends meanwhile
        finally:
            batches.close()
    assert len(received) == 3


def test_a_child_that_dies_is_reported() -> None:
    def dying(index: int, records: list[dict[str, Any]]) -> Prepared:
        if index == 2:
            os._exit(9)
        return prepare(index, records)

    batches = ForkedBatches(Preparation(grouped(10), dying, remap))
    with pytest.raises(RuntimeError, match="ended unexpectedly .exit code 9"):
        try:
            for _ in batches:
                time.sleep(0.05)  # writing: the child dies meanwhile
        finally:
            batches.close()


def test_the_childs_log_records_reach_the_parents_handlers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def logging_prepare(index: int, records: list[dict[str, Any]]) -> Prepared:
        logging.getLogger("lumo.sync.copy_lane").info("prepared batch %d", index)
        return prepare(index, records)

    caplog.set_level(logging.INFO, logger="lumo.sync.copy_lane")
    batches = ForkedBatches(Preparation(grouped(4), logging_prepare, remap))
    try:
        list(batches)
    finally:
        batches.close()
    messages = [r.getMessage() for r in caplog.records if r.name == "lumo.sync.copy_lane"]
    assert messages == [f"prepared batch {n}" for n in range(4)]


def test_closing_early_ends_the_child() -> None:
    batches = ForkedBatches(Preparation(grouped(10_000, size=100), prepare, remap))
    first = next(iter(batches))
    batches.close()
    assert numbers(first) == list(range(100))
    assert not batches._process.is_alive()

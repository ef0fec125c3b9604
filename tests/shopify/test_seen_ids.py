"""The bulk reader's memory of parent ids: exact within its window, and bounded."""

from __future__ import annotations

import random

import pytest

from lumo.shopify.bulk import _SeenIds


def filled(numbers: list[int]) -> _SeenIds:
    seen = _SeenIds()
    for number in numbers:
        seen.add(number)
    return seen


@pytest.mark.parametrize("order", ["ascending", "shuffled"])
def test_membership_is_exact_across_blocks_and_big_gaps(
    order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_SeenIds, "BLOCK", 8)  # many blocks from few ids
    monkeypatch.setattr(_SeenIds, "WINDOW", 1000)  # all of them in the window
    rng = random.Random(7)
    numbers = sorted(rng.sample(range(5_000_000_000_000, 5_000_000_100_000), 300))
    numbers += [n + (1 << 33) for n in numbers[-20:]]  # gaps past a 4-byte offset
    if order == "shuffled":
        rng.shuffle(numbers)

    seen = filled(numbers)

    assert all(number in seen for number in numbers)
    absent = {n + 1 for n in numbers} - set(numbers)
    assert not any(number in seen for number in absent)
    assert 0 not in seen and "x" not in seen


def test_ascending_ids_take_four_bytes_each() -> None:
    seen = filled(list(range(7_000_000_000_000, 7_000_000_000_000 + 100_000 * 3, 3)))

    assert seen._set is None
    assert seen._offsets.itemsize == 4 and len(seen._offsets) == 100_000


@pytest.mark.parametrize("gap", [3, 1 << 33])  # dense, or a block per id
def test_ids_older_than_the_window_are_let_go_and_taken_as_seen(
    gap: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_SeenIds, "BLOCK", 8)
    monkeypatch.setattr(_SeenIds, "WINDOW", 32)
    numbers = list(range(1_000, 1_000 + gap * 100, gap))

    seen = filled(numbers)

    assert 16 <= len(seen._offsets) <= 32 + 8 and len(seen._bases) <= 32 + 1
    window = numbers[-len(seen._offsets) :]
    assert all(number in seen for number in numbers)  # the older ones taken as seen
    assert not any(number + 1 in seen for number in window)  # the window stays exact
    assert numbers[-1] + gap not in seen


def test_an_id_seen_again_keeps_the_order_and_the_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_SeenIds, "SET_LIMIT", 4)
    numbers = list(range(100, 200))

    seen = filled([*numbers[:50], numbers[20], numbers[49], *numbers[50:]])

    assert seen._set is None and not seen._all
    assert 99 not in seen and 200 not in seen


def test_negative_ids_are_kept_like_any_other() -> None:
    seen = filled([-5, -1, 3])
    assert all(number in seen for number in (-5, -1, 3))
    assert -2 not in seen and 0 not in seen


def test_unordered_ids_past_the_limit_stop_the_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_SeenIds, "SET_LIMIT", 50)
    numbers = list(range(100, 0, -1))  # descending: a set from the second id on

    seen = filled(numbers[:40])
    assert seen._set is not None and 500 not in seen

    for number in numbers[40:]:
        seen.add(number)
    assert seen._set is None and len(seen._offsets) == 0
    assert 500 in seen  # no longer told apart: nothing is counted as an orphan

"""The bulk reader's memory of parent ids: exact membership however the ids arrive."""

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

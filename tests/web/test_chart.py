"""The Sync History chart: one bar per run, each day written once under its bars."""

from __future__ import annotations

import re

from lumo.web.pages.chart import bar_chart_svg


def tick_labels(svg: str) -> list[str]:
    return re.findall(r'class="tick">([^<]+)</text>', svg)


def test_runs_on_the_same_day_share_one_day_label() -> None:
    svg = str(bar_chart_svg([("12-01", 5), ("12-01", 7), ("12-02", 3)], "Runs"))

    assert svg.count('class="bar"') == 3
    assert [t for t in tick_labels(svg) if "-" in t] == ["12-01", "12-02"]
    assert "12-01: 7 records" in svg


def test_no_runs_draw_nothing() -> None:
    assert str(bar_chart_svg([], "Runs")) == ""

"""A small bar chart drawn as inline SVG on the server: no chart library, no script."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 560
HEIGHT = 160
MARGIN_LEFT = 48
MARGIN_BOTTOM = 28
MARGIN_TOP = 12


def bar_chart_svg(points: Sequence[tuple[str, int]], title: str) -> Markup:
    """Bars for (label, value) points, oldest first; the title is the accessible name."""
    if not points:
        return Markup("")
    top = max(value for _, value in points) or 1
    plot_width = WIDTH - MARGIN_LEFT - 8
    plot_height = HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    slot = plot_width / len(points)
    bar = max(2.0, slot * 0.7)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{MARGIN_LEFT}" y1="{HEIGHT - MARGIN_BOTTOM}" x2="{WIDTH - 4}" '
        f'y2="{HEIGHT - MARGIN_BOTTOM}" class="axis"/>',
        f'<text x="{MARGIN_LEFT - 6}" y="{MARGIN_TOP + 4}" text-anchor="end" '
        f'class="tick">{top:,}</text>',
        f'<text x="{MARGIN_LEFT - 6}" y="{HEIGHT - MARGIN_BOTTOM}" text-anchor="end" '
        f'class="tick">0</text>',
    ]
    every = max(1, len(points) // 6)
    last_tick = None
    for index, (label, value) in enumerate(points):
        height = plot_height * value / top
        x = MARGIN_LEFT + index * slot + (slot - bar) / 2
        y = HEIGHT - MARGIN_BOTTOM - height
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" class="bar">'
            f"<title>{escape(label)}: {value:,} records</title></rect>"
        )
        if index % every == 0 and label != last_tick:
            # Several runs on one day share a tick: the day is written once, under the first.
            last_tick = label
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - 10}" text-anchor="middle" '
                f'class="tick">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))

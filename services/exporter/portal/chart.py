"""Leads per day by tier as an SVG stacked bar chart, drawn on the server: a pure function.

No script and no external asset: the page embeds the markup, so it works without JavaScript
and under a strict Content-Security-Policy. The chart has a title and a description for
screen readers; the same numbers are in a table beside it on the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from xml.sax.saxutils import escape

TIER_COLOURS = {"A": "#116329", "B": "#0b5cad", "C": "#b7791f", "RETRY": "#8c959f"}
WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 28, 36


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above ``value`` (at least 1): a round axis top."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if step * top >= value:
                return step * top
        top *= 10


def tier_chart_svg(
    days: Sequence[date],
    counts: Mapping[date, Mapping[str, int]],
    tiers: Sequence[str] = ("A", "B", "C", "RETRY"),
    title: str = "Leads per day by tier",
) -> str:
    """One bar per day, stacked by tier in ``tiers`` order (bottom first)."""
    totals = [sum(counts.get(day, {}).get(tier, 0) for tier in tiers) for day in days]
    top = nice_ceiling(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.7, 1.0)
    total_leads = sum(totals)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="chart-title chart-desc">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{total_leads} leads over {len(days)} days'
        + (f", {days[0].isoformat()} to {days[-1].isoformat()}" if days else "")
        + f"; the busiest day had {max(totals, default=0)}.</desc>",
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            f'stroke="#d0d7de" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#59636e">{top * fraction:g}</text>'
        )
    for index, day in enumerate(days):
        x = LEFT + index * slot + (slot - bar) / 2
        y = TOP + plot_h
        for tier in tiers:
            count = counts.get(day, {}).get(tier, 0)
            if count <= 0:
                continue
            height = plot_h * count / top
            y -= height
            parts.append(
                f'<rect class="bar tier-{escape(tier)}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{bar:.1f}" height="{height:.1f}" fill="{TIER_COLOURS.get(tier, "#444")}">'
                f"<title>{day.isoformat()}: {count} tier {escape(tier)}</title></rect>"
            )
        if len(days) <= 16 or index % max(len(days) // 8, 1) == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle" '
                f'font-size="11" fill="#59636e">{day:%m-%d}</text>'
            )
    legend_x = LEFT
    for tier in tiers:
        parts.append(
            f'<rect x="{legend_x}" y="8" width="12" height="12" '
            f'fill="{TIER_COLOURS.get(tier, "#444")}"/>'
            f'<text x="{legend_x + 16}" y="18" font-size="12" fill="#1b1f24">{escape(tier)}</text>'
        )
        legend_x += 24 + 8 * len(tier) + 16
    parts.append("</svg>")
    return "".join(parts)

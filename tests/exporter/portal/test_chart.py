"""The leads-per-day SVG chart: one stacked bar per day, heights in proportion."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from services.exporter.portal.chart import nice_ceiling, tier_chart_svg

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [date(2026, 12, 1) + timedelta(days=n) for n in range(3)]


def _bars(svg: str) -> list[ET.Element]:
    return [e for e in ET.fromstring(svg).iter(f"{SVG}rect") if "bar" in e.get("class", "")]


def test_bars_stack_by_tier_with_heights_in_proportion() -> None:
    counts = {DAYS[0]: {"A": 10, "B": 30}, DAYS[2]: {"C": 20}}
    svg = tier_chart_svg(DAYS, counts)
    bars = _bars(svg)
    assert [b.get("class") for b in bars] == ["bar tier-A", "bar tier-B", "bar tier-C"]
    heights = [float(b.get("height", "0")) for b in bars]
    assert heights[1] == pytest.approx(heights[0] * 3, abs=0.2)
    assert heights[2] == pytest.approx(heights[0] * 2, abs=0.2)
    # A sits below B in the same column: B's bottom is A's top.
    a, b = bars[0], bars[1]
    assert a.get("x") == b.get("x")
    assert float(b.get("y", "0")) + heights[1] == pytest.approx(float(a.get("y", "0")), abs=0.2)
    assert "40 leads" not in svg and "60 leads over 3 days" in svg


def test_the_axis_top_is_a_round_number_at_or_above_the_busiest_day() -> None:
    assert [nice_ceiling(n) for n in (0, 1, 3, 7, 40, 101, 4999)] == [1, 1, 5, 10, 50, 200, 5000]
    svg = tier_chart_svg(DAYS, {DAYS[1]: {"A": 40}})
    assert ">50<" in svg  # the axis label of the top line


def test_an_empty_window_draws_an_empty_chart_and_text_is_escaped() -> None:
    svg = tier_chart_svg([], {}, title="<script>x</script> & co")
    root = ET.fromstring(svg)  # well-formed XML
    assert _bars(svg) == [] and root.get("role") == "img"
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert re.search(r"<desc[^>]*>0 leads over 0 days", svg)

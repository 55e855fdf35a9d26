"""Server-side SVG charts: well-formed, deterministic, honest about gaps and signs."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from surveillance.evidence import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_a_time_chart_is_well_formed_svg_with_its_title() -> None:
    svg = charts.time_chart(
        "Quotes", lines=[charts.Line("bid", [0.0, 10.0, 20.0], [1.0, 2.0, 1.5])]
    )
    root = _parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == "Quotes"  # type: ignore[union-attr]


def test_the_same_data_give_the_same_bytes() -> None:
    def draw() -> str:
        return charts.time_chart(
            "Q",
            lines=[charts.Line("bid", [0.0, 1.5, 3.0], [100.0, 100.5, 99.5])],
            points=[charts.Points("trades", [1.0], [100.2])],
            bands=[charts.Band(1.0, 2.0, "alert")],
        )

    assert draw() == draw()


def test_a_missing_value_breaks_a_line_instead_of_bridging_it() -> None:
    svg = charts.time_chart(
        "Q", lines=[charts.Line("ask", [0.0, 1.0, 2.0, 3.0], [1.0, math.nan, 2.0, 2.5])]
    )
    assert len(_parse(svg).findall(f".//{SVG}polyline")) == 2


def test_a_step_line_holds_its_value_until_it_disappears() -> None:
    svg = charts.time_chart(
        "Q", lines=[charts.Line("ask", [0.0, 5.0, 10.0], [1.0, math.nan, 1.0])], x_time=False
    )
    first = _parse(svg).findall(f".//{SVG}polyline")[0].get("points", "").split()
    assert len(first) == 2 and first[0].split(",")[1] == first[1].split(",")[1]


def test_alert_windows_are_shaded_bands() -> None:
    svg = charts.time_chart(
        "Q",
        lines=[charts.Line("bid", [0.0, 60.0], [1.0, 1.0])],
        bands=[charts.Band(10.0, 20.0, "alert window")],
    )
    bands = [r for r in _parse(svg).iter(f"{SVG}rect") if r.get("class") == "band"]
    assert len(bands) == 1


def test_negative_bars_extend_below_the_zero_line() -> None:
    svg = charts.bar_chart("M", charts.Bars(["1s", "10s"], {"AMM": [-3.0, 2.0]}))
    bars = [r for r in _parse(svg).iter(f"{SVG}rect") if r.get("class") == "bar"]
    negative, positive = bars
    assert float(negative.get("y", 0)) + float(negative.get("height", 0)) > float(
        positive.get("y", 0)
    ) + float(positive.get("height", 0))


def test_an_empty_chart_says_so() -> None:
    svg = charts.bar_chart("Alerts", charts.Bars(["A"], {"n": [0.0]}))
    assert "nothing to show" in svg
    assert "no data" in charts.time_chart("Replay", lines=[])


def test_labels_are_escaped() -> None:
    svg = charts.bar_chart("a < b", charts.Bars(["<x>"], {"n & m": [1.0]}))
    _parse(svg)  # would raise on unescaped markup
    assert "<x>" not in svg.replace("&lt;x&gt;", "")

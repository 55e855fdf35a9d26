"""Reports are self-contained HTML: parsed, charts present, nothing fetched from anywhere."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from surveillance.evidence.pack import CaseEvidence
from surveillance.evidence.review import write_review

DAY = dt.date(2026, 3, 2)


class Page(HTMLParser):
    """Collects what the tests look at: tags, references, scripts, styles and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.references: list[tuple[str, str, str]] = []
        self.svg_titles: list[str] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._stack.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "srcset", "poster", "data", "action"):
                self.references.append((tag, name, value or ""))
            if name == "style" and value and "url(" in value:
                self.references.append((tag, name, value))

    def handle_endtag(self, tag: str) -> None:
        while self._stack and self._stack.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        current = self._stack[-1] if self._stack else ""
        if current == "style":
            self.styles.append(data)
        elif current == "title" and "svg" in self._stack:
            self.svg_titles.append(data)
        else:
            self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def assert_self_contained(page: Page) -> None:
    assert page.references == []
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(page.tags)
    css = "".join(page.styles)
    assert "url(" not in css and "@import" not in css


@pytest.fixture(scope="module")
def case_report(signed_pack: tuple[Path, Path]) -> Page:
    """The parsed report.html of the module's signed pack."""
    with zipfile.ZipFile(signed_pack[0]) as archive:
        return parse(archive.read("report.html").decode("utf-8"))


def test_the_case_report_references_nothing_outside_itself(case_report: Page) -> None:
    assert_self_contained(case_report)


def test_the_case_report_embeds_the_replay_and_feature_charts_as_svg(case_report: Page) -> None:
    assert case_report.tags.count("svg") == 2
    assert any(t.startswith("BTC-USD 2026-03-02") for t in case_report.svg_titles)
    assert "Feature value ÷ its baseline (1 = typical)" in case_report.svg_titles
    assert case_report.tags.count("polyline") >= 2  # best bid and best ask


def test_the_case_report_has_a_print_style_sheet(case_report: Page) -> None:
    css = "".join(case_report.styles)
    assert "@media print" in css and "@page" in css


def test_the_case_report_escapes_text_from_the_case_store(case_report: Page) -> None:
    text = "".join(case_report.text)
    assert "Checked <script>x</script>" in text  # shown as text, not run
    assert "<b>then</b>" in text


def test_the_case_report_lists_the_orders_and_trades_involved(
    case_report: Page, market: tuple[Any, Any], case_factory: Callable[..., CaseEvidence]
) -> None:
    alert = case_factory(market[1]).alerts[0]
    text = set(case_report.text)
    assert set(alert["order_ids"]) <= text
    assert set(alert["trade_ids"]) <= text


def test_the_case_report_shows_what_the_lake_lacked(case_report: Page) -> None:
    text = "".join(case_report.text)
    assert "book_top: no partition <lake>/book/top/date=2026-03-02/symbol=BTC-USD" in text


@pytest.fixture
def review_page(
    market: tuple[Any, Any], case_factory: Callable[..., CaseEvidence], tmp_path: Path
) -> Page:
    """The parsed review report of the small lake, with one closed and one open case."""
    settings, matcher = market
    cases = [case_factory(matcher).case, case_factory(matcher, 8, status="NEW").case]
    out = tmp_path / "review.html"
    write_review(settings, "GROUP", DAY, DAY, out, cases=cases, creator="rita")
    return parse(out.read_text(encoding="utf-8"))


def test_the_review_report_references_nothing_outside_itself(review_page: Page) -> None:
    assert_self_contained(review_page)


def test_the_review_report_has_its_charts(review_page: Page) -> None:
    titles = set(review_page.svg_titles)
    assert {
        "Compliant quoting uptime by symbol and day (against the required uptime)",
        "Client markouts by horizon (bps; positive = in the client's favour)",
        "Gateway-to-engine latency (ms)",
        "Alerts by typology and severity",
        "Cases by disposition",
    } <= titles
    assert review_page.tags.count("rect") > 10


def test_the_review_report_has_every_section(review_page: Page) -> None:
    text = "".join(review_page.text)
    for heading in (
        "1. Obligation compliance",
        "2. Execution quality against clients",
        "3. Priority and sequencing",
        "4. Alerts",
        "5. Cases: dispositions, time to close, open cases",
        "Appendix A. Methods",
        "Appendix B. Parameters and versions in force",
    ):
        assert heading in text

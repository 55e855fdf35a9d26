"""The ``[cases]`` section of the configuration file."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveillance.cases import CasesConfig
from surveillance.config import load_config
from surveillance.errors import ConfigError


def test_a_file_sets_the_grouping_gap(tmp_path: Path) -> None:
    path = tmp_path / "mmsurv.toml"
    path.write_text("version = 1\n[cases]\ngrouping_gap_seconds = 3600\n")
    assert load_config(path).section("cases", CasesConfig).grouping_gap_seconds == 3600


def test_a_negative_gap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mmsurv.toml"
    path.write_text("version = 1\n[cases]\ngrouping_gap_seconds = -5\n")
    with pytest.raises(ConfigError, match=r"cases\.grouping_gap_seconds"):
        load_config(path)


def test_an_unknown_severity_for_four_eyes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mmsurv.toml"
    path.write_text('version = 1\n[cases]\nfour_eyes_severities = ["CRITICAL"]\n')
    with pytest.raises(ConfigError, match=r"cases\.four_eyes_severities"):
        load_config(path)

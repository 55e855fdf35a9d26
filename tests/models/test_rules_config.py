"""The [rules] section and the detector registry: validated, versioned, documented."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from models.rules.config import RulesConfig
from models.rules.registry import RULES, get
from surveillance.config import load_config, parse_config
from surveillance.contract import Typology
from surveillance.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_every_typology_has_exactly_one_detector() -> None:
    assert sorted(d.typology.value for d in RULES.values()) == sorted(t.value for t in Typology)


def test_every_detector_has_a_parameter_table_and_help() -> None:
    for name, detector in RULES.items():
        assert name in RulesConfig.model_fields, name
        assert RulesConfig.model_fields[name].annotation is detector.params_model
        assert len(detector.help) > 80, name


def test_every_parameter_has_a_description() -> None:
    for detector in RULES.values():
        for key, field in detector.params_model.model_fields.items():
            assert field.description, f"{detector.name}.{key}"


def test_every_detector_and_parameter_is_documented() -> None:
    doc = (ROOT / "docs" / "typologies.md").read_text()
    for name, detector in RULES.items():
        assert f"rule:{name}" in doc, name
        for key in detector.params_model.model_fields:
            assert f"`{key}`" in doc, f"{name}.{key} is not in docs/typologies.md"


def test_defaults_file_equals_the_packaged_defaults() -> None:
    raw = tomllib.loads((ROOT / "models" / "rules" / "defaults.toml").read_text())
    cfg = parse_config(raw, source="defaults.toml")
    assert cfg.section("rules", RulesConfig) == RulesConfig()


def test_unknown_detector_key_names_the_allowed_keys(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("version = 1\n[rules.trading_ahead]\npre_window = 3\n")
    with pytest.raises(
        ConfigError, match=r"unknown key 'rules.trading_ahead.pre_window'.*pre_window_s"
    ):
        load_config(path)


def test_bad_value_names_the_key_and_the_allowed_values(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('version = 1\n[rules.wash_trade]\ngroup_roles = ["AMM"]\n')
    with pytest.raises(ConfigError, match=r"(?i)rules.wash_trade.group_roles.*'affiliated_mm'"):
        load_config(path)


def test_out_of_range_value_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("version = 1\n[rules.spread_widening]\nmin_ratio = 0.5\n")
    with pytest.raises(ConfigError, match=r"rules.spread_widening.min_ratio.*greater than 1"):
        load_config(path)


def test_registry_lookup_accepts_the_rule_prefix() -> None:
    assert get("rule:wash_trade") is RULES["wash_trade"]
    with pytest.raises(KeyError, match="registered: trading_ahead"):
        get("rule:nope")

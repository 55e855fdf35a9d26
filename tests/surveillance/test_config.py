"""The configuration file is validated on load with messages that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from surveillance import config
from surveillance.config import SectionModel, load_config
from surveillance.errors import ConfigError


class ExampleSection(SectionModel):
    """A section used only by these tests."""

    threshold: float = Field(0.5, ge=0, le=1)
    mode: str = "strict"


@pytest.fixture
def example_section(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registers ``[example]`` as the only section."""
    monkeypatch.setattr(config, "SECTIONS", {"example": f"{__name__}:ExampleSection"})


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mmsurv.toml"
    path.write_text(text)
    return path


def test_defaults_apply_without_a_file(example_section: None) -> None:
    cfg = load_config(None)
    assert cfg.section("example", ExampleSection).threshold == 0.5


def test_a_file_overrides_only_what_it_states(example_section: None, tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, "version = 1\n[example]\nthreshold = 0.9\n"))
    section = cfg.section("example", ExampleSection)
    assert (section.threshold, section.mode) == (0.9, "strict")
    assert cfg.section_hash("example") != load_config(None).section_hash("example")


def test_unknown_key_names_the_key_and_the_allowed_keys(
    example_section: None, tmp_path: Path
) -> None:
    path = _write(tmp_path, "version = 1\n[example]\nthreshhold = 0.9\n")
    with pytest.raises(ConfigError, match=r"unknown key 'example.threshhold'.*mode, threshold"):
        load_config(path)


def test_bad_value_names_the_key_and_the_value(example_section: None, tmp_path: Path) -> None:
    path = _write(tmp_path, "version = 1\n[example]\nthreshold = 7\n")
    with pytest.raises(ConfigError, match=r"'example.threshold'.*less than or equal to 1.*7"):
        load_config(path)


def test_unknown_section_and_wrong_version_are_refused(
    example_section: None, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"unknown section 'rulez'.*example"):
        load_config(_write(tmp_path, "version = 1\n[rulez]\n"))
    with pytest.raises(ConfigError, match=r"'version' must be 1, found 2"):
        load_config(_write(tmp_path, "version = 2\n"))

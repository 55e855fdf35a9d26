"""docs/web.md documents every ``[web]`` setting with its packaged default."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveillance.web.config import WebConfig

DOC = Path(__file__).resolve().parents[3] / "docs" / "web.md"


@pytest.mark.parametrize("name", sorted(WebConfig.model_fields))
def test_every_web_setting_is_documented_with_its_default(name: str) -> None:
    default = WebConfig.model_fields[name].default
    shown = (
        "unset"
        if default is None
        else f"{default:g}"
        if isinstance(default, float)
        else str(default)
    )
    assert f"| `{name}` | {shown} |" in DOC.read_text()

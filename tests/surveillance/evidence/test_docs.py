"""Every ``[evidence]`` setting is documented in docs/evidence.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveillance.evidence.config import EvidenceConfig

DOC = Path(__file__).resolve().parents[3] / "docs" / "evidence.md"


@pytest.mark.parametrize("key", sorted(EvidenceConfig.model_fields))
def test_every_setting_is_documented(key: str) -> None:
    assert f"| `{key}` |" in DOC.read_text(encoding="utf-8")

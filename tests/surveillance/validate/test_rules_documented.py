"""Every rule in the registry is documented in docs/contract-rules.md, and nothing else is."""

from __future__ import annotations

import re
from pathlib import Path

from surveillance.validate import RULES

DOC = Path(__file__).resolve().parents[3] / "docs" / "contract-rules.md"


def _documented_codes() -> list[str]:
    return re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", DOC.read_text(), flags=re.MULTILINE)


def test_every_rule_is_documented() -> None:
    missing = sorted({r.code for r in RULES} - set(_documented_codes()))
    assert not missing, f"add these rules to {DOC}: {missing}"


def test_the_documentation_lists_no_rule_that_does_not_exist() -> None:
    stale = sorted(set(_documented_codes()) - {r.code for r in RULES})
    assert not stale, f"remove these codes from {DOC}: {stale}"


def test_rule_codes_are_unique_and_name_their_dataset() -> None:
    codes = [r.code for r in RULES]
    assert len(codes) == len(set(codes))
    assert all(r.code.startswith(f"{r.dataset}.") for r in RULES)

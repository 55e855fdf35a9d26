"""Misconduct injectors (placeholder during development)."""

from __future__ import annotations

from typing import Any


def build(sim: Any, intensity: float) -> list[Any]:
    return []

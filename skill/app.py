"""Builds the skill: one factory for every entry point (Lambda, web service, console)."""

from __future__ import annotations

from typing import Any

from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import CustomSkillBuilder


def build_skill(*, persistence_adapter: Any = None, api_client: Any = None) -> CustomSkill:
    """Return the Cramp Coach skill (placeholder until the routine lands)."""
    builder = CustomSkillBuilder(persistence_adapter=persistence_adapter, api_client=api_client)
    return builder.create()

"""The safety rules hold on every transition of every state the routine can reach.

tests/exploration.py explores the pure state machine breadth first, from a fresh start in
each situation (a speaker; a car, every request carrying context.Automotive): every state
the routine's own way forward reaches (next, yes, no, coming back, time passing, each way a
timer call can end), and every state reached by one other event (a detour) tried from each
of them, followed by anything the routine's way forward leads on to, every transition
checked. The detour groups together hold every event, so every event is tried from every
state of the way forward. The detours are explored by
group (safety, moving around, situations, timers) so that the items run side by side under
`-n auto`; the figures print at the end of the run.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.exploration import (
    CORE_EVENTS,
    DETOUR_GROUPS,
    EVENTS,
    SITUATIONS,
    detours_of,
    explore,
)

pytestmark = pytest.mark.exhaustive


def test_the_detour_groups_and_the_way_forward_try_every_event() -> None:
    """Each detour run tries its group's events from every state of the way forward, so the
    groups and the way forward together must hold every event of the alphabet, each once:
    then every event is tried, and checked, from every state the way forward reaches."""
    groups = [set(detours_of(group)) for group in DETOUR_GROUPS]
    tried = [*CORE_EVENTS, *(event for group in groups for event in group)]
    assert sorted(map(repr, tried)) == sorted(map(repr, EVENTS))


def test_the_way_forward_goes_three_cold_rounds_deep(
    record_property: Callable[[str, object], None]
) -> None:
    """Telling the first three cold rounds apart, the runner's way forward (with every way a
    timer can end) goes three rounds deep, every transition keeping every rule."""
    report = explore("speaker", rounds=3)
    record_property("exploration", f"speaker, the way forward, three rounds apart: "
                    f"{report.summary}")
    assert not report.violations, "\n".join(report.violations)
    assert report.cold_rounds >= 3


@pytest.mark.parametrize("group", sorted(DETOUR_GROUPS))
@pytest.mark.parametrize("situation", sorted(SITUATIONS))
def test_every_state_after_a_detour(
    situation: str, group: str, record_property: Callable[[str, object], None]
) -> None:
    """After any one event of the group, anywhere, everything the way forward leads on to
    keeps every rule."""
    report = explore(situation, detours_of(group))
    record_property("exploration", f"{situation}, a {group} detour: {report.summary}")
    assert not report.violations, "\n".join(report.violations)

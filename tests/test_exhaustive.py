"""The safety rules hold on every transition of every state the routine can reach.

tests/exploration.py explores the pure state machine breadth first, from a fresh start in
each situation (a speaker; a car, every request carrying context.Automotive): every state
the routine's own way forward reaches (next, yes, no, coming back, time passing, each way a
timer call can end), with every event tried and checked from each of them; and every state
reached by one other event (a detour) anywhere along the way, followed by anything the
routine's way forward leads on to, every transition checked. The detours are explored by
group (safety, moving around, situations, timers) so that the items run side by side under
`-n auto`; the figures print at the end of the run.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.exploration import DETOUR_GROUPS, SITUATIONS, detours_of, explore


@pytest.mark.parametrize("situation", sorted(SITUATIONS))
def test_every_event_from_every_state_on_the_way_forward(
    situation: str, record_property: Callable[[str, object], None]
) -> None:
    """From every state the way forward reaches, every event keeps every rule."""
    report = explore(detours=0, probe=True, situations=(situation,))
    record_property("exploration", f"{situation}, every event from the way forward: "
                    f"{report.summary}")
    assert not report.violations, "\n".join(report.violations)


def test_the_way_forward_goes_three_cold_rounds_deep(
    record_property: Callable[[str, object], None]
) -> None:
    """Telling the first three cold rounds apart, the runner's way forward (with every way a
    timer can end) goes three rounds deep, every transition keeping every rule."""
    report = explore(detours=0, rounds=3, situations=("speaker",))
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
    report = explore(detours=1, detour_events=detours_of(group), situations=(situation,))
    record_property("exploration", f"{situation}, a {group} detour: {report.summary}")
    assert not report.violations, "\n".join(report.violations)

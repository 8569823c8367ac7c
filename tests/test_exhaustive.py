"""The safety rules hold on every transition of every state the routine can reach.

tests/exploration.py explores the pure state machine breadth first: from a fresh start in each
situation, every state the routine's own way forward reaches (next, yes, no, coming back,
time passing, each way a timer call can end), with up to `DETOURS` other events anywhere on
the way, and every event of every such state tried and checked. Each situation is its own
test, so the two run side by side under `-n 2`; the figures print at the end of the run.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.exploration import SITUATIONS, explore

# One detour: any single other event (a warning sign, "go to step 2", "I'm driving", a timer
# asked for...) at any point of any path, followed by anything the routine leads on to, with
# every event tried from there. Two detours is exhaustive too but takes minutes.
DETOURS = 1


@pytest.mark.parametrize("situation", sorted(SITUATIONS))
def test_every_reachable_state_keeps_the_safety_rules(
    situation: str, record_property: Callable[[str, object], None]
) -> None:
    """No transition breaks a rule (tests/exploration.py lists them), paths reach three cold
    rounds, and every template key the routine can choose is reached."""
    report = explore(detours=DETOURS, situations=(situation,))
    record_property("exploration", f"{situation}: {report.states:,} states, "
                                   f"{report.transitions:,} transitions checked, deepest path "
                                   f"{report.deepest} events, {report.cold_rounds} cold rounds, "
                                   f"{report.seconds:.1f} s")
    assert not report.violations, "\n".join(report.violations)
    assert report.cold_rounds >= 3

"""Every fact of DESIGN.md section 2 (from the seed article) is spoken in a full run.

Checked by keys, in every locale with a model: a full run speaks every step's instruction
(`step/<id>`) and the wrap-up, and a run with "tell me more" at each step speaks every step's
detail (`more/<id>`) too. Which fact each of those templates must say is checked once per
template in tests/test_wording.py (tests/wording_checks.py FACTS).
"""

from __future__ import annotations

import pytest

from skill.routine import load_routine
from tests.full_run import answer, finished, step_of, walk
from tests.talk import MORE
from tests.wording_checks import FACTS
from tooling.standins.alexa import Alexa, Reply

pytestmark = pytest.mark.every_locale

ROUTINE = load_routine()
INSTRUCTIONS = {f"step/{s.id}" for s in ROUTINE.steps}
DETAILS = {f"more/{s.id}" for s in ROUTINE.steps}
WRAP_UP = "finish/wrap_up"
MAX_TURNS = 80
# Questions "tell me more" would answer instead of giving the step's detail.
NOT_NOW = {"pain_gate", "cramp_gone", "wait_offer", "resume", "sign_check", "forget"}


def spoken(replies: list[Reply]) -> set[str]:
    return {key for reply in replies for key in reply.keys}


def run_with_detail(alexa: Alexa) -> list[Reply]:
    """A full run (tests/full_run.py's answers), saying "tell me more" once at each step."""
    replies = [alexa.launch()]
    asked: set[int] = set()
    while not (finished(replies[-1]) and replies[-1].ends_session):
        assert len(replies) <= MAX_TURNS, [r.keys for r in replies[-6:]]
        last = replies[-1]
        if last.ends_session:
            replies.append(alexa.launch())
        elif step_of(last) not in asked and last.state.get("pending") not in NOT_NOW:
            asked.add(step_of(last))
            replies.append(alexa.intent(MORE))
        else:
            replies.append(answer(alexa, last))
    return replies


def test_plain_run_speaks_every_step_and_the_wrap_up(alexa: Alexa) -> None:
    """Next, next, next to the end speaks every step's instruction, in order, and the wrap-up
    (the durations, warnings, medicines and rest facts are in those templates)."""
    run = walk(alexa)
    keys = [key for reply in run.replies for key in reply.keys]
    assert not sorted(INSTRUCTIONS - set(keys))
    firsts = [keys.index(f"step/{s.id}") for s in ROUTINE.steps]
    assert firsts == sorted(firsts)
    assert keys[-1] == WRAP_UP


def test_run_with_detail_speaks_every_step_and_its_detail(alexa: Alexa) -> None:
    """With "tell me more" at each step, every step's instruction and detail is spoken."""
    keys = spoken(run_with_detail(alexa))
    assert not sorted((INSTRUCTIONS | DETAILS | {WRAP_UP}) - keys)


def test_the_spoken_templates_carry_the_articles_facts() -> None:
    """Every instruction, detail and the wrap-up has the facts it must say assigned (and
    tests/test_wording.py checks them), so speaking the keys speaks the facts."""
    assert not sorted((INSTRUCTIONS | DETAILS | {WRAP_UP}) - set(FACTS))
    assert all(FACTS[key][1] for key in INSTRUCTIONS | DETAILS | {WRAP_UP})

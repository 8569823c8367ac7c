"""The state machine on its own: pure, total, and tolerant of what it is handed."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from skill.routine import (
    QUESTIONS,
    ChangeTimer,
    Ev,
    Event,
    Outcome,
    Purpose,
    Question,
    SetTimer,
    State,
    Timer,
    TimerCall,
    TimerOp,
    TimerReport,
    TimerResult,
    advance,
    load_routine,
)
from skill.routine.flow import COME_BACK_LINES, HANDS_ON_LINES
from skill.speech import TEMPLATES

ROUTINE = load_routine()
NOW = 1_795_000_000.0  # late November 2026, in seconds since the epoch
COLD, HEAT = ROUTINE.cold_step, ROUTINE.number_of(Purpose.HEAT)
MASSAGE = next(n for n, s in enumerate(ROUTINE.steps, 1) if s.pain_gate)
STRETCH = next(n for n, s in enumerate(ROUTINE.steps, 1) if s.hands_on and not s.timer
               and not s.pain_gate)
COLD_TIMER = Timer("cold-1", Purpose.COLD, 15, NOW + 600)
PAUSED_HEAT = Timer("heat-1", Purpose.HEAT, 15, NOW + 900, paused_left=300.0)
# Words that tell a driver to use their hands: the steps' own and the other hands-on lines.
HANDS_ON_KEYS = HANDS_ON_LINES | {f"{kind}/{s.id}" for s in ROUTINE.steps if s.hands_on
                                  for kind in ("step", "more")}


def at(step: int, **fields: object) -> State:
    """A returning user, in a session, at `step`, last active a moment ago."""
    base = State(step=step, greeted=True, first_time=False, saved_at=NOW - 30,
                 episodes=("2026-11-27",))
    return replace(base, **fields)  # type: ignore[arg-type]


# States the machine must answer from: every step, every question where it is asked, the
# rules kept until start over, driving, timers running or paused, a session just opened.
STATES: dict[str, State] = {
    "new user": State(),
    "returning, not started": State(first_time=False, episodes=("2026-11-01",)),
    **{f"step {n}": at(n) for n in range(1, ROUTINE.total + 1)},
    "finished": at(ROUTINE.total, finished=True),
    "session opening mid-routine": replace(at(5), greeted=False),
    "pain gate": at(MASSAGE, pending=Question.PAIN_GATE),
    "pain gate, once unclear": at(MASSAGE, pending=Question.PAIN_GATE, unclear=1),
    "resume question": replace(at(5, pending=Question.RESUME), greeted=True),
    "forget question": at(2, pending=Question.FORGET),
    "cold timer offer": at(COLD, pending=Question.TIMER_OFFER, cold_round=1,
                           round_started_at=NOW - 60, round_ends_at=NOW + 1140),
    "heat timer offer": at(HEAT, pending=Question.TIMER_OFFER),
    "cramp gone?": at(COLD, pending=Question.CRAMP_GONE, cold_round=1,
                      round_started_at=NOW - 1500, round_ends_at=NOW - 300),
    "wait offer": at(COLD, pending=Question.WAIT_OFFER, cold_round=1, cramp_stays=True,
                     round_started_at=NOW - 1500, round_ends_at=NOW - 300),
    "sign check": at(STRETCH, pending=Question.SIGN_CHECK),
    "cold round running": at(COLD, cold_round=1, timers=(COLD_TIMER,),
                             round_started_at=NOW - 300, round_ends_at=NOW + 600),
    "cold timer gone off": at(COLD, cold_round=1, timers=(replace(COLD_TIMER, ends_at=NOW - 5),),
                              round_started_at=NOW - 905, round_ends_at=NOW - 5),
    "heat paused": at(HEAT, timers=(PAUSED_HEAT,)),
    "hands off at the stretch": at(STRETCH, hands_off=True, pain_worse=True),
    "hands off at the cold": at(COLD, hands_off=True, pain_worse=True, cold_round=1,
                                round_started_at=NOW - 300, round_ends_at=NOW - 200),
    "pain worse": at(2, pain_worse=True),
    "injured": at(2, injured=True, cannot_walk=True, hands_off=True),
    "cannot walk, not started": State(first_time=False, greeted=True, cannot_walk=True),
    "cramp stays": at(HEAT - 1, cramp_stays=True, cold_round=1,
                      round_started_at=NOW - 4000, round_ends_at=NOW - 3000),
    "heat explained": at(COLD, cramp_stays=True, heat_explained=True, cold_round=2,
                         round_started_at=NOW - 4000, round_ends_at=NOW - 3000),
    "driving": at(1, car_said="driving", driving=True),
    "driving, step held": at(COLD, car_said="driving", driving=True, held_from=STRETCH),
    "parked": at(STRETCH, car_said="parked"),
    "permission asked": at(COLD, wanted_purpose=Purpose.COLD, wanted_minutes=15, cold_round=1,
                           round_started_at=NOW - 10, round_ends_at=NOW + 1190),
    "helper, slow and loud": at(6, helping=True, slow=True, loud=True),
    "stale progress": replace(at(4), greeted=False, saved_at=NOW - 3 * 86400),
}


def report(call: TimerCall, result: TimerResult) -> TimerReport:
    return TimerReport(call, result, timer_id="t-1" if result is TimerResult.DONE else "",
                       reason="" if result is TimerResult.DONE else "unavailable")


# Every kind of event, with the values it can carry (heard, unheard, out of range).
EVENTS: list[Event] = [
    *(Event(kind) for kind in Ev
      if kind not in (Ev.GO_TO, Ev.RED_FLAG, Ev.SET_TIMER, Ev.PERMISSION, Ev.TIMER_RESULT)),
    *(Event(Ev.GO_TO, value) for value in ("1", "3", "4", "5", "8", "9", "0", "banana", None)),
    *(Event(Ev.RED_FLAG, value) for value in (*ROUTINE.signs, "nosebleed", None)),
    *(Event(Ev.SET_TIMER, value) for value in ("15", "20", "7", None)),
    *(Event(Ev.PERMISSION, value, card_thrown=thrown)
      for value in ("accepted", "denied", "not_answered", "error") for thrown in (True, False)),
    Event(Ev.TIMER_RESULT),  # no report at all
    *(Event(Ev.TIMER_RESULT, report=report(call, result))
      for call in (SetTimer(Purpose.COLD, 15, 1), SetTimer(Purpose.WAIT, 30, 2),
                   SetTimer(Purpose.HEAT, 15), ChangeTimer(TimerOp.CANCEL, COLD_TIMER),
                   ChangeTimer(TimerOp.PAUSE, PAUSED_HEAT, quiet=True))
      for result in TimerResult),
    Event(Ev.NEXT, in_car=True),
    Event(Ev.LAUNCH, in_car=True),
]


def event_id(event: Event) -> str:
    extra = event.value or (event.report.result.value if event.report else "")
    return "-".join(str(x) for x in (event.kind.value, extra, "car" if event.in_car else "") if x)


def settle(outcome: Outcome, at_time: float) -> Outcome:
    """The turn as the conversation finishes it: every timer call done, its answer added."""
    calls = [e for e in outcome.effects if isinstance(e, TimerCall)]
    while calls:
        call = calls.pop(0)
        later = advance(outcome.state, Event(Ev.TIMER_RESULT, at=at_time,
                                             report=report(call, TimerResult.DONE)), ROUTINE)
        outcome = outcome.then(later)
        calls += [e for e in later.effects if isinstance(e, TimerCall)]
    return outcome


@pytest.mark.parametrize("event", EVENTS, ids=event_id)
def test_every_event_in_every_state_has_an_outcome(event: Event) -> None:
    """Any event in any state gives a state in range that reads back as itself, and either a
    prompt, a hand-over to Alexa, or a come-back line that ends the session (rule 9)."""
    for name, state in STATES.items():
        outcome = advance(state, replace(event, at=NOW), ROUTINE)
        where = f"{name}: {outcome.keys}"
        new = outcome.state
        assert 0 <= new.step <= ROUTINE.total and 0 <= new.held_from <= ROUTINE.total, where
        assert State.from_dict(json.loads(json.dumps(new.to_dict(), allow_nan=False)),
                               ROUTINE) == new, where
        if event.kind is Ev.SESSION_ENDED:
            assert not outcome.lines and outcome.prompt is None, where
            continue
        done = settle(outcome, NOW)
        assert done.keys, where
        assert done.prompt is not None or done.hands_over or (
            COME_BACK_LINES & set(done.keys)), where
        if done.prompt is not None and done.state.pending is not None:
            # A question the skill waits on is the one its prompt asks.
            assert done.prompt.key == QUESTIONS[done.state.pending].asks, where


@pytest.mark.parametrize("event", EVENTS, ids=event_id)
def test_every_transition_keeps_the_safety_rules(event: Event) -> None:
    """From any state: nothing hands-on reaches a driver (rule 7), no massage once the pain
    got worse or after an injury sign, no stretch or heat after one (rule 2), and never
    "walk home" to someone who cannot walk (rule 8)."""
    for name, state in STATES.items():
        done = settle(advance(state, replace(event, at=NOW), ROUTINE), NOW)
        new, keys = done.state, set(done.keys)
        where = f"{name}: {done.keys}"
        if new.driving:
            assert not keys & HANDS_ON_KEYS, where
            assert not [e for e in done.effects if isinstance(e, SetTimer)], where
        if new.pain_worse or new.injured:
            assert "step/massage" not in keys, where
        if new.injured:
            assert not keys & {"step/stretch", "step/heat"}, where
        for line in done.lines:
            if line.key == "step/stop":
                assert line.args.get("can_walk") is (not new.cannot_walk), where


def test_advance_does_not_change_its_input() -> None:
    """States are values: advancing returns a new one and leaves the one it was given."""
    for state in STATES.values():
        before = state.to_dict()
        for kind in (Ev.NEXT, Ev.HURTS_MORE, Ev.LAUNCH, Ev.START_OVER, Ev.DRIVING):
            advance(state, Event(kind, at=NOW), ROUTINE)
        assert state.to_dict() == before


@pytest.mark.parametrize("question", list(Question), ids=lambda q: q.value)
def test_session_end_keeps_a_question_that_keeps(question: Question) -> None:
    """Silence never answers a question: it is still waiting next session if it keeps (the pain
    question always does), else it is dropped, never taken as an answer."""
    state = at(MASSAGE, pending=question, unclear=1, misses=2)
    after = advance(state, Event(Ev.SESSION_ENDED, at=NOW), ROUTINE).state
    kept = QUESTIONS[question].kept_on_silence
    assert after.pending is (question if kept else None)
    assert (after.step, after.unclear, after.misses) == (MASSAGE, 0, 0)
    assert QUESTIONS[Question.PAIN_GATE].kept_on_silence


def test_new_session_resets_this_sessions_settings_not_the_place() -> None:
    """A new session keeps the step, the question and the rules, and forgets the misses, the
    greeting, what was said about the car and the voice settings."""
    state = at(5, misses=2, unclear=1, pending=Question.PAIN_GATE, car_said="driving",
               driving=True, slow=True, loud=True, held_from=2, helping=True, pain_worse=True)
    fresh = state.new_session()
    assert (fresh.step, fresh.pending, fresh.held_from, fresh.helping, fresh.pain_worse) == (
        5, Question.PAIN_GATE, 2, True, True)
    assert (fresh.misses, fresh.unclear, fresh.greeted, fresh.car_said, fresh.driving,
            fresh.slow, fresh.loud) == (0, 0, False, "", False, False, False)


def test_from_dict_drops_bad_values() -> None:
    """Bad types, unknown questions and purposes, and out-of-range numbers fall back to defaults."""
    assert State.from_dict({"step": 12, "pending": "nope", "misses": "2"}, ROUTINE) == State()
    assert State.from_dict({"step": True}, ROUTINE).step == 0
    junk: object
    for junk in (None, [], "routine", 3, 2.5, True):
        assert State.from_dict(junk, ROUTINE) == State()
    state = State.from_dict({
        "step": 4, "pending": "cramp_gone", "wanted_purpose": "lava", "wanted_minutes": -3,
        "hands_off": 1, "injured": "yes", "car_said": "x" * 500, "unclear": 10**9,
        "round_started_at": math.nan, "round_ends_at": math.inf, "saved_at": 1e300,
        "episodes": ["2026-02-30", "2026-13-01", "yesterday", 20261127, "2026-11-27"],
        "timers": [{"id": "a", "purpose": "cold", "minutes": 15, "ends_at": math.nan},
                   {"id": "b", "purpose": "lava", "minutes": 15, "ends_at": NOW},
                   {"id": "", "purpose": "heat", "minutes": 15, "ends_at": NOW},
                   {"id": "c", "purpose": "heat", "minutes": 999, "ends_at": NOW},
                   "timer", None,
                   {"id": "d", "purpose": "heat", "minutes": 15, "ends_at": NOW}],
    }, ROUTINE)
    assert (state.step, state.pending) == (4, Question.CRAMP_GONE)
    assert (state.wanted_purpose, state.wanted_minutes) == (None, 0)
    assert (state.hands_off, state.injured, state.car_said, state.unclear) == (
        False, False, "", 0)
    assert (state.round_started_at, state.round_ends_at, state.saved_at) == (0.0, 0.0, 0.0)
    assert state.episodes == ("2026-11-27",)
    assert [t.id for t in state.timers] == ["d"]


def test_a_held_step_beyond_the_routine_resets_the_place() -> None:
    """A held-back step past the last one is tampering: the place is dropped, the user's history
    (the disclaimer heard, the cramp days) kept."""
    state = State.from_dict({"step": 3, "held_from": ROUTINE.total + 1, "first_time": False,
                             "episodes": ["2026-11-27"]}, ROUTINE)
    assert state == State(first_time=False, episodes=("2026-11-27",))


# --- the questions, as data -----------------------------------------------------------------

LANGUAGE_FOLDERS = sorted(p for p in TEMPLATES.iterdir() if p.is_dir() and "-" not in p.name)


def test_there_are_template_language_folders() -> None:
    """At least English (the checks below would pass vacuously without a folder)."""
    assert TEMPLATES / "en" in LANGUAGE_FOLDERS


@pytest.mark.parametrize("question", list(Question), ids=lambda q: q.value)
def test_every_question_is_asked_in_every_language(question: Question) -> None:
    """Each Question has its entry in QUESTIONS, and the templates it asks, re-asks and explains
    an unclear answer with exist in every language folder."""
    ask = QUESTIONS[question]
    keys = {ask.asks, ask.unclear_line, *([ask.reprompt] if ask.reprompt else [])}
    for folder in LANGUAGE_FOLDERS:
        missing = sorted(k for k in keys if not (folder / f"{k}.ssml").is_file())
        assert not missing, f"{folder.name}: {missing}"


GATE = QUESTIONS[Question.PAIN_GATE]
AT_THE_GATE = at(MASSAGE, pending=Question.PAIN_GATE)
STOPS = "stops the massage"
GIVES = "gives the massage"
UNCLEAR = "asks again"
SKIPS = "skips the massage"
# The pain question's answers (DESIGN section 4, rule 1): only a clear "no" gives the massage.
GATE_TABLE = [
    (Ev.YES, STOPS), (Ev.HURTS_MORE, STOPS),
    (Ev.NO, GIVES), (Ev.NOT_WORSE, GIVES),
    (Ev.UNSURE, UNCLEAR), (Ev.FALLBACK, UNCLEAR),
    (Ev.NEXT, SKIPS), (Ev.SKIP, SKIPS),
]


@pytest.mark.parametrize(("kind", "meaning"), GATE_TABLE, ids=lambda x: getattr(x, "value", x))
def test_the_pain_gate_answer_table(kind: Ev, meaning: str) -> None:
    """QUESTIONS maps each answer to the pain question to its move, and the move does what
    rule 1 says: yes or worse stops the massage, a clear no gives it, unsure or unheard asks
    again, moving on skips it."""
    move = GATE.answer(kind)
    expected = {STOPS: GATE.yes, GIVES: GATE.no, UNCLEAR: GATE.unclear, SKIPS: GATE.moving_on}
    assert move == expected[meaning]
    outcome = advance(AT_THE_GATE, Event(kind, at=NOW), ROUTINE)
    keys, state = outcome.keys, outcome.state
    if meaning == GIVES:
        assert keys == ("gate/no", f"step/{ROUTINE.step(MASSAGE).id}", "prompt/step")
        assert (state.step, state.pending, state.pain_worse) == (MASSAGE, None, False)
        return
    assert "step/massage" not in keys
    if meaning == UNCLEAR:
        assert keys == ("gate/unclear", "gate/ask")
        assert (state.step, state.pending, state.unclear) == (MASSAGE, Question.PAIN_GATE, 1)
    elif meaning == STOPS:
        assert_stopped_at_the_massage(outcome, "gate/yes")
    else:
        assert keys[:3] == ("gate/skipped", "step/header", "step/cold")
        assert state.step == MASSAGE + 1


def assert_stopped_at_the_massage(outcome: Outcome, why: str) -> None:
    """The massage stopped in one short answer: why, the doctor advice, and "next" for the
    cold compress; the place stays at the massage, hands off, and "next" gives the cold."""
    keys, state = outcome.keys, outcome.state
    assert keys == (why, "safety/severe_pain_doctor", "prompt/after_stop")
    assert outcome.prompt is not None and outcome.prompt.args == {"next": "cold"}
    assert (state.step, state.pending, state.hands_off, state.pain_worse) == (
        MASSAGE, None, True, True)
    onward = advance(state, Event(Ev.NEXT, at=NOW), ROUTINE)
    assert onward.keys[:2] == ("step/header", "step/cold") and onward.state.step == COLD
    assert onward.state.pending is Question.TIMER_OFFER


@pytest.mark.parametrize("first", [Ev.UNSURE, Ev.FALLBACK])
@pytest.mark.parametrize("second", [Ev.UNSURE, Ev.FALLBACK])
def test_a_second_unclear_answer_to_the_pain_gate_stops_the_massage(first: Ev, second: Ev) -> None:
    """Two unclear answers in a row settle the pain question the safe way: no massage, and
    "next" for the cold compress."""
    once = advance(AT_THE_GATE, Event(first, at=NOW), ROUTINE).state
    twice = advance(once, Event(second, at=NOW), ROUTINE)
    assert "step/massage" not in twice.keys
    assert_stopped_at_the_massage(twice, "gate/unclear_stop")


@pytest.mark.parametrize("answer", [Ev.NO, Ev.NOT_WORSE])
def test_not_hurt_before_any_step_begins_the_steps(answer: Ev) -> None:
    """"My calf cramped up really bad" can open the skill as a sign Alexa could not make out:
    "are you hurt?". A reassuring answer then begins the steps at once, without a "start"."""
    asked = advance(State(first_time=False), Event(Ev.RED_FLAG, at=NOW), ROUTINE)
    assert asked.state.pending is Question.SIGN_CHECK and asked.state.step == 0
    outcome = advance(asked.state, Event(answer, at=NOW + 5), ROUTINE)
    assert outcome.keys == ("safety/not_hurt", "step/header", "step/stop", "prompt/step")
    assert (outcome.state.step, outcome.state.pending, outcome.state.injured) == (1, None, False)


def test_not_worse_before_any_step_begins_the_steps() -> None:
    """"It's not getting worse", said before any step, is good news, and the steps begin."""
    outcome = advance(State(first_time=False), Event(Ev.NOT_WORSE, at=NOW), ROUTINE)
    assert outcome.keys[:3] == ("answer/not_worse", "step/header", "step/stop")
    assert outcome.state.step == 1


def test_a_yes_to_are_you_hurt_before_any_step_is_a_warning_sign_in_its_own_turn() -> None:
    """Yes (or "it really hurts") to "are you hurt?": the medical advice alone, default-safe,
    and the steps wait for "start", with the injury kept for them."""
    asked = advance(State(first_time=False), Event(Ev.RED_FLAG, at=NOW), ROUTINE)
    for answer in (Ev.YES, Ev.HURTS_MORE):
        outcome = advance(asked.state, Event(answer, at=NOW + 5), ROUTINE)
        assert outcome.keys == ("safety/red_flag", "prompt/start")
        assert outcome.state.injured and outcome.state.step == 0
        begun = advance(outcome.state, Event(Ev.START, at=NOW + 10), ROUTINE)
        assert begun.state.step == 1 and begun.state.injured

"""Every state the routine can reach, with the safety rules checked on every transition.

The routine is a pure state machine (`skill.routine.advance`), so it can be explored
exhaustively: from a fresh start in each situation (a speaker; a car, whose every request
carries context.Automotive), breadth first, over every event the skill can be told (every
intent's event with representative values, a timer's every result, the permission's every
answer), and over time passing: the session closing and the runner coming back after a
gap (16, 21 and 61 minutes, a day), so resumes after each gap are explored too.

States are deduplicated on what the routine's behaviour depends on: the state with its
times taken relative to now (a timer's minutes left, the minutes since the last cold round
began, clamped where the routine stops telling them apart: an hour for rounds, half a day
for stale progress), recent episodes counted, and fields that only change how the words
sound (the session's speed and volume, the misses counter) left out. The ghost, a record of
what the person has said kept by this module and not by the routine, is part of the key.

The rules are checked against the ghost, not against the routine's own flags, so a flag
the routine forgot to set cannot hide a broken rule:
- no massage after the pain was said to be worse, after "it hurts more", a warning sign or
  an emergency, until start over; after a warning sign or an emergency, no stretch or heat
  either;
- no heat while the runner's last word was that the cramping is not gone, unless they ask
  for it again after hearing why it waits;
- cold put on at most once an hour, counted from the last time it went on;
- while driving, no hands-on words and no timer; after parking, the first step held back
  comes first;
- a warning sign gets medical advice, an emergency request the emergency line, and a sign
  Alexa could not make out is a question, not advice; never "walk home" after a person said
  they cannot walk or stand;
- every answer leaves a way forward: a prompt, Alexa's own permission question, or the
  session ends saying how to come back;
- what cards and screens show is plain text, and no answer inside the routine is over the
  word budget (the checklist and the wrap-up excepted).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from operator import attrgetter

from skill.response import card_text, screen_payload
from skill.routine import (
    ChangeTimer,
    Ev,
    Event,
    Line,
    Outcome,
    Purpose,
    Question,
    SetTimer,
    State,
    TimerCall,
    TimerReport,
    TimerResult,
    TimerTask,
    advance,
    load_routine,
)
from skill.routine.flow import COME_BACK_LINES, DISCLAIMERS
from skill.routine.state import evolve
from skill.speech import Voice, to_text
from tests.conftest import MAIN_LOCALES
from tests.full_run import words

ROUTINE = load_routine()
START = datetime(2026, 11, 27, 17, 0, tzinfo=UTC).timestamp()
MINUTE = 60.0
HOUR = 60 * MINUTE
STALE = 12 * HOUR
WAITS_MIN = (16, 21, 61, 24 * 60)  # gaps after which the runner comes back
SITUATIONS = {"speaker": False, "car": True}  # whether every request comes from a car
WORD_BUDGET = 40
# Answers the budget does not bind: the checklist, the overview and the wrap-up are lists.
LONG_LINES = frozenset({"info/checklist", "info/overview", "finish/wrap_up"})

# Representatives of every kind of value an event carries (the sign ids by what they mean).
SIGNS = (None, "severe_pain", "no_weight", "swelling", "every_run", "red_hot")
EVENTS: tuple[Event, ...] = (
    *(Event(kind) for kind in Ev
      if kind not in (Ev.GO_TO, Ev.RED_FLAG, Ev.SET_TIMER, Ev.PERMISSION, Ev.TIMER_RESULT,
                      Ev.SESSION_ENDED)),
    *(Event(Ev.GO_TO, value) for value in (*map(str, range(1, ROUTINE.total + 1)), "9", None)),
    *(Event(Ev.RED_FLAG, value) for value in SIGNS),
    *(Event(Ev.SET_TIMER, value) for value in (None, "15", "20", "30")),
    *(Event(Ev.PERMISSION, value) for value in ("accepted", "denied", "error")),
    # A timer's task bringing the skill back ("continue with Cramp Coach?" answered yes).
    *(Event(Ev.LAUNCH, task=TimerTask(purpose, 2, minutes))
      for purpose, minutes in ((Purpose.COLD, 20), (Purpose.WAIT, 40), (Purpose.HEAT, 15))),
)

STEP_OF = {step.id: number for number, step in enumerate(ROUTINE.steps, 1)}
MASSAGE = frozenset({"step/massage", "more/massage", "gate/no"})
BARRED_AFTER_INJURY = frozenset(
    f"{kind}/{step.id}" for step in ROUTINE.steps if step.not_after_injury
    for kind in ("step", "more")) | MASSAGE
HEAT = frozenset({"step/heat", "more/heat"})
APPLY_COLD = frozenset({"step/cold", "cold/round"})
HANDS_ON = frozenset(
    {f"{kind}/{step.id}" for step in ROUTINE.steps if step.hands_on for kind in ("step", "more")}
    | {"gate/ask", "gate/no", "cold/round", "cold/come_back", "timer/offer", "timer/wait_offer",
       "timer/wait_set", "timer/time_yourself", "timer/choose", "timer/declined",
       "timer/cold_done"})
LONGEST_ROUND = 20 * MINUTE


@dataclass(frozen=True)
class Ghost:
    """What the person has said, kept here and not by the routine: the rules' reference."""

    no_massage: bool = False  # pain worse, hurts more, a warning sign, an emergency
    injured: bool = False  # a warning sign or an emergency
    cannot_walk: bool = False
    cramp_stays: bool = False  # the last word on the cramp: still there
    heard_why: bool = False  # ... and they were told heat waits for it
    cold_on_at: float = 0.0  # when cold last went on (0: never)
    cold_paused_after: float = -1.0  # its timer paused this long after it went on (-1: not)
    first_held: int = 0  # the first step held back while driving (0: none)
    said_driving: bool = False  # this session
    said_parked: bool = False  # this session
    last_at: float = START  # when they last spoke

    def driving(self, in_car: bool) -> bool:
        return (in_car or self.said_driving) and not self.said_parked


@dataclass(frozen=True)
class Node:
    state: State
    now: float
    in_session: bool
    situation: str
    ghost: Ghost

    @property
    def in_car(self) -> bool:
        return SITUATIONS[self.situation]


@dataclass
class Report:
    states: int = 0
    transitions: int = 0
    deepest: int = 0
    seconds: float = 0.0
    cold_rounds: int = 0  # the most cold rounds one path reached
    # What broke, by rule: how often, and the first few paths that broke it.
    broken: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def reached(self, node: Node, path: tuple[str, ...]) -> None:
        self.deepest = max(self.deepest, len(path))
        self.cold_rounds = max(self.cold_rounds, node.state.cold_round)

    def copy(self) -> Report:
        return replace(self, broken={rule: list(paths) for rule, paths in self.broken.items()},
                       counts=dict(self.counts))

    def note(self, rule: str, path: str) -> None:
        self.counts[rule] = self.counts.get(rule, 0) + 1
        examples = self.broken.setdefault(rule, [])
        if len(examples) < 3:
            examples.append(path)

    @property
    def summary(self) -> str:
        return (f"{self.states:,} states, {self.transitions:,} transitions, deepest path "
                f"{self.deepest} events, {self.cold_rounds} cold rounds, {self.seconds:.1f} s")

    @property
    def violations(self) -> list[str]:
        return [f"{rule} ({self.counts[rule]} times), e.g. {paths[0]}"
                for rule, paths in self.broken.items()]


class Renderer:
    """Cards, screens and word counts, rendered once per distinct thing shown (en-US).

    Every distinct answer counted against the word budget is kept (`budgeted`), so that the
    exploration, which is the same in every language (the routine chooses keys), is done once
    and each other language only renders and counts what it collected (in_every_language)."""

    def __init__(self, locale: str = "en-US") -> None:
        self.locale = locale
        self._plain: dict[object, tuple[str, ...]] = {}
        self._words: dict[object, int] = {}
        self._answers: dict[object, int] = {}
        self.budgeted: dict[object, tuple[State, tuple[Line, ...]]] = {}

    def voice(self, state: State, helper: bool | None = None) -> Voice:
        helping = state.helping if helper is None else helper
        variants = (*(("car",) if state.driving else ()), *(("helper",) if helping else ()))
        return Voice(self.locale, state, ROUTINE, variants=variants)

    def markup(self, outcome: Outcome) -> tuple[str, ...]:
        """What a card or screen would show as markup (nothing, as it should be)."""
        s = outcome.state
        memo = (outcome.shown, outcome.card, s.step, s.finished, s.pending, s.driving,
                s.helping)
        found = self._plain.get(memo)
        if found is None:
            texts: list[str] = []
            voice = self.voice(s)
            if outcome.shown is not None:
                payload = screen_payload(voice, outcome.shown)
                texts += [v for v in payload.values() if isinstance(v, str)]
                texts += [i for v in payload.values() if isinstance(v, list) for i in v]
                if outcome.card is not None:
                    texts += list(card_text(voice, outcome.shown))
            found = self._plain[memo] = tuple(text for text in texts
                                              if "<" in text or "&" in text)
        return found

    def words(self, outcome: Outcome) -> int:
        """Words of the whole answer in the longer of the runner's and a helper's phrasing
        (whoever the state says is talking: a helper can take over at any turn)."""
        s = outcome.state
        memo = (outcome.lines, outcome.prompt, s.step, s.finished, s.pending, s.driving)
        counted = self._answers.get(memo)
        if counted is None:
            lines = (*outcome.lines, *((outcome.prompt,) if outcome.prompt else ()))
            counted = self._answers[memo] = self.longest(s, lines)
            self.budgeted[memo] = (s, lines)
        return counted

    def longest(self, s: State, lines: tuple[Line, ...]) -> int:
        return max(self._count(s, lines, helper) for helper in (False, True))

    def _count(self, s: State, lines: tuple[Line, ...], helper: bool) -> int:
        context = (s.step, s.finished, s.pending, s.driving, helper)
        total = 0
        for line in lines:
            memo = (line, context)
            counted = self._words.get(memo)
            if counted is None:
                counted = self._words[memo] = words(to_text(self.voice(s, helper).ssml(line)))
            total += counted
        return total


# The exploration renders in en-US; the word budget is then counted in every language's main
# locale. Renderers keep what they rendered for the whole process (the runs of one worker).
EXPLORED_LOCALE = "en-US"
RENDERERS = {locale: Renderer(locale) for locale in {EXPLORED_LOCALE, *MAIN_LOCALES}}
_CHECKED_EVERYWHERE: set[object] = set()


# Fields that only change the words (how they sound, the numbers they say, a welcome or a
# disclaimer, the caregiver's phrasing, the frequent-cramps note): not in the key. Times are
# kept as the regions the routine tells apart (see _region).
_WORDS_ONLY = frozenset({"misses", "slow", "loud", "helping", "saved_at", "episodes", "timers",
                         "round_started_at", "round_ends_at", "cold_round", "first_time",
                         "greeted", "wanted_minutes"})
_KEY_FIELDS = tuple(name for name in State.__dataclass_fields__ if name not in _WORDS_ONLY)
_key_values = attrgetter(*_KEY_FIELDS)  # one C call for the key's fields, a million times a run


def _since(at: float, now: float) -> int:
    """How long ago, as the regions the rules tell apart: never, within a round, within the
    hour, over an hour."""
    if not at:
        return 0
    ago = now - at
    return 1 if ago <= LONGEST_ROUND else 2 if ago < HOUR else 3


def canonical(node: Node, rounds: int = 1) -> tuple[object, ...]:
    """What the routine's future behaviour depends on (see the module docstring); `rounds`:
    how many cold rounds are told apart (beyond the first they only change the numbers said,
    but telling them apart shows how deep the paths go)."""
    s, now, g = node.state, node.now, node.ghost
    timers = tuple(sorted((t.purpose.value, bool(t.paused_left), t.ends_at > now)
                          for t in s.timers)) if s.timers else ()
    return (_key_values(s), timers, min(s.cold_round, rounds),
            now - s.saved_at >= STALE, _since(s.round_started_at, now),
            s.round_ends_at > now,
            g.no_massage, g.injured, g.cannot_walk, g.cramp_stays, g.heard_why, g.first_held,
            g.said_driving, g.said_parked, _since(g.cold_on_at, now), g.cold_paused_after >= 0,
            now - g.last_at >= STALE, node.in_session, node.situation)


def _timer_results(call: TimerCall) -> tuple[TimerReport, ...]:
    if isinstance(call, SetTimer):
        return (TimerReport(call, TimerResult.DONE, timer_id=f"{call.purpose.value}-{call.round}"),
                TimerReport(call, TimerResult.FAILED, reason="server_error"),
                TimerReport(call, TimerResult.NEEDS_PERMISSION))
    assert isinstance(call, ChangeTimer)
    return (TimerReport(call, TimerResult.DONE), TimerReport(call, TimerResult.NOT_FOUND),
            TimerReport(call, TimerResult.FAILED, reason="timeout"))


def outcomes(state: State, event: Event) -> Iterator[Outcome]:
    """Every outcome of one request, each way the Timers API could answer its calls (as
    skill.conversation carries them out: each result is an event answered in the turn)."""
    first = advance(state, event, ROUTINE)
    calls = tuple(e for e in first.effects if isinstance(e, TimerCall))
    if not calls:  # most requests
        yield first
        return
    pending: deque[tuple[Outcome, tuple[TimerCall, ...]]] = deque([(first, calls)])
    while pending:
        outcome, calls = pending.popleft()
        if not calls:
            yield outcome
            continue
        for report in _timer_results(calls[0]):
            later = advance(outcome.state, Event(Ev.TIMER_RESULT, at=event.at,
                                                 in_car=event.in_car, report=report), ROUTINE)
            new_calls = tuple(e for e in later.effects if isinstance(e, TimerCall))
            pending.append((outcome.then(later), calls[1:] + new_calls))


def _session_over(g: Ghost) -> Ghost:
    """What was said about driving or parking holds for the session only."""
    return evolve(g, said_driving=False, said_parked=False) if g.said_driving or g.said_parked \
        else g


def _ghost_before(g: Ghost, node: Node, event: Event) -> Ghost:
    """The ghost updated with what this event says, before the skill answers it."""
    s = node.state
    kind = event.kind
    asked = s.pending
    if not node.in_session:
        g = _session_over(g)
        if node.now - g.last_at >= STALE and not s.in_progress:
            g = evolve(g, cannot_walk=False)  # a new cramp, half a day later
    new_routine = kind is Ev.START_OVER or (asked is Question.RESUME and kind is Ev.NO) or (
        not s.in_progress and kind in (Ev.LAUNCH, Ev.START, Ev.NEXT, Ev.SKIP, Ev.GO_TO,
                                       Ev.HELPER, Ev.FOR_ME, Ev.PARKED, Ev.CANT_DO, Ev.YES,
                                       Ev.HELP))
    if new_routine:
        g = evolve(g, no_massage=False, injured=False, cramp_stays=False, heard_why=False,
                   first_held=0)
        if node.now - g.last_at >= STALE:
            g = evolve(g, cannot_walk=False)  # a new cramp, half a day later
    if kind is Ev.HURTS_MORE or (asked is Question.PAIN_GATE and kind is Ev.YES):
        g = evolve(g, no_massage=True)
    if kind in (Ev.RED_FLAG, Ev.EMERGENCY) and (event.value or kind is Ev.EMERGENCY):
        g = evolve(g, no_massage=True, injured=True)
        sign = ROUTINE.signs.get(event.value or "")
        if sign and sign.cannot_walk:
            g = evolve(g, cannot_walk=True)
    if asked is Question.CRAMP_GONE and kind in (Ev.NO, Ev.CRAMP_STAYS):
        g = evolve(g, cramp_stays=True, heard_why=False)
    if kind is Ev.CRAMP_GONE or (asked is Question.CRAMP_GONE and kind is Ev.YES):
        g = evolve(g, cramp_stays=False, heard_why=False)
    if asked is Question.FORGET and kind is Ev.YES:
        # Forgetting deletes what the skill kept, when the cold last went on included: the
        # hourly rule can only hold for what it knows.
        g = evolve(g, cold_on_at=0.0, cold_paused_after=-1.0)
    if kind is Ev.DRIVING:
        g = evolve(g, said_driving=True, said_parked=False)
    if kind is Ev.PARKED:
        g = evolve(g, said_parked=True, said_driving=False)
    return g


def check(node: Node, event: Event, outcome: Outcome, renderer: Renderer) -> tuple[Ghost,
                                                                                     list[str]]:
    """The rules on one transition; returns the ghost after it and what broke."""
    g = _ghost_before(node.ghost, node, event)
    keys = set(outcome.keys)
    s = outcome.state
    broken: list[str] = []
    now = event.at
    driving = g.driving(node.in_car)
    # The skill's own acknowledgements of a sign (an unresolved one answered yes, say).
    if keys & {"safety/red_flag", "safety/emergency"}:
        g = evolve(g, no_massage=True, injured=True)
    if "cold/taken_as_stays" in keys:
        g = evolve(g, cramp_stays=True, heard_why=False)

    if g.no_massage and keys & MASSAGE:
        broken.append("massage after pain got worse, it hurt more, or a warning sign")
    if g.injured and keys & BARRED_AFTER_INJURY:
        broken.append("stretch, massage or heat after a warning sign or an emergency")
    if keys & HEAT:
        if g.cramp_stays and not g.heard_why:
            broken.append("heat while the cramping stays, before saying why it waits")
        g = evolve(g, cramp_stays=False, heard_why=False)
    if "heat/not_yet" in keys:
        g = evolve(g, heard_why=True)
    for line in outcome.lines:  # the cold compress's time stops while its timer is paused
        if line.key == "timer/changed" and line.args.get("purpose") == "cold" \
                and line.args.get("result") == "done" and g.cold_on_at:
            if line.args.get("op") == "pause" and g.cold_paused_after < 0:
                g = evolve(g, cold_paused_after=now - g.cold_on_at)
            elif line.args.get("op") == "resume" and g.cold_paused_after >= 0:
                g = evolve(g, cold_on_at=now - g.cold_paused_after, cold_paused_after=-1.0)
            elif line.args.get("op") == "cancel":
                g = evolve(g, cold_paused_after=-1.0)
    if keys & APPLY_COLD:
        since = g.cold_paused_after if g.cold_paused_after >= 0 else now - g.cold_on_at
        if g.cold_on_at and LONGEST_ROUND < since < HOUR:
            broken.append(f"cold put on again within the hour: after {since / MINUTE:.0f} minutes")
        if not g.cold_on_at or since >= HOUR:
            g = evolve(g, cold_on_at=now, cold_paused_after=-1.0)
    if driving:
        if keys & HANDS_ON:
            broken.append(f"hands-on words while driving: {sorted(keys & HANDS_ON)}")
        if any(isinstance(e, SetTimer) for e in outcome.effects):
            broken.append("a timer set while driving")
        if "car/hold" in keys and s.in_progress and ROUTINE.step(s.step).hands_on:
            g = evolve(g, first_held=min(g.first_held or s.step, s.step))
    if event.kind is Ev.PARKED and g.first_held and node.state.in_progress:
        if s.step != g.first_held and "safety/skipped" not in keys:
            broken.append(f"parked, not at the first step held back: {s.step}, not {g.first_held}")
        g = evolve(g, first_held=0)
    if event.kind is Ev.EMERGENCY and not ({"safety/emergency", "bye/come_back"} <= keys
                                           and outcome.ends_session):
        broken.append("an emergency request without the emergency line")
    if event.kind is Ev.RED_FLAG:
        if event.value and "safety/red_flag" not in keys:
            broken.append("a warning sign without medical advice")
        if event.value is None and ("safety/red_flag" in keys
                                    or s.pending is not Question.SIGN_CHECK):
            broken.append("a sign Alexa could not make out was not asked about")
    if g.cannot_walk:
        for line in (*outcome.lines, *((outcome.prompt,) if outcome.prompt else ())):
            if line.key == "step/stop" and line.args.get("can_walk", True):
                broken.append("walk home, to someone who cannot walk")
    if outcome.prompt is None and not outcome.hands_over and not keys & COME_BACK_LINES:
        broken.append("the session ends without saying how to come back")
    for text in renderer.markup(outcome):
        broken.append(f"markup on a card or screen: {text[:60]!r}")
    # A first-time user's first answer carries the disclaimer: its budget is the words before
    # the first instruction (tests/test_speech_budget.py), not this one.
    opening = any(line.key in DISCLAIMERS or (line.key == "open/welcome"
                                              and line.args.get("first_time"))
                  for line in outcome.lines)
    if not keys & LONG_LINES and not opening and renderer.words(outcome) > WORD_BUDGET:
        broken.append(f"over {WORD_BUDGET} words: {renderer.words(outcome)} in {outcome.keys}")
    return evolve(g, last_at=now), broken


# The routine's own way forward, taken at every turn: "next", a yes or a no to whatever was
# asked, coming back (the launch), and time passing between sessions.
CORE = frozenset({Ev.NEXT, Ev.YES, Ev.NO, Ev.LAUNCH})
CORE_EVENTS = tuple(e for e in EVENTS if e.kind in CORE and e.task is None)
# The other events by what they are about: each group's detours can be explored apart.
DETOUR_GROUPS: dict[str, frozenset[Ev]] = {
    "safety": frozenset({Ev.RED_FLAG, Ev.EMERGENCY, Ev.HURTS_MORE, Ev.NOT_WORSE, Ev.CRAMP_GONE,
                         Ev.CRAMP_STAYS, Ev.UNSURE, Ev.FALLBACK, Ev.KEEP_MASSAGING}),
    "moving": frozenset({Ev.GO_TO, Ev.PREVIOUS, Ev.REPEAT, Ev.SKIP, Ev.CANT_DO, Ev.START_OVER,
                         Ev.START, Ev.RESUME}),
    "situations": frozenset({Ev.DRIVING, Ev.PARKED, Ev.HELPER, Ev.FOR_ME, Ev.SLOWER,
                             Ev.LOUDER, Ev.PAUSE, Ev.STOP, Ev.HELP, Ev.CHECKLIST,
                             Ev.PREVENTION, Ev.OVERVIEW, Ev.FORGET, Ev.ERROR, Ev.MORE,
                             Ev.WHERE_AM_I, Ev.STEPS_LEFT}),
    "timers": frozenset({Ev.SET_TIMER, Ev.TIMER_LEFT, Ev.CANCEL_TIMER, Ev.PAUSE_TIMER,
                         Ev.RESUME_TIMER, Ev.PERMISSION, Ev.LAUNCH}),
}


def detours_of(group: str) -> tuple[Event, ...]:
    return tuple(e for e in EVENTS if e.kind in DETOUR_GROUPS[group] and e not in CORE_EVENTS)


@dataclass
class WayForward:
    """The states the routine's own way forward reaches from a fresh start, in the order they
    were first reached, with the report of their transitions."""

    nodes: list[tuple[Node, tuple[str, ...]]]
    seen: frozenset[tuple[object, ...]]
    report: Report


@cache
def way_forward(situation: str, rounds: int = 1) -> WayForward:
    """Explored once per process and situation: each detour group's run starts from it."""
    report = Report()
    start = Node(State(), START, False, situation, Ghost())
    seen = {canonical(start, rounds)}
    nodes: list[tuple[Node, tuple[str, ...]]] = []
    queue: deque[tuple[Node, tuple[str, ...]]] = deque([(start, ())])
    while queue:
        node, path = queue.popleft()
        report.reached(node, path)
        nodes.append((node, path))
        for following, label in _successors(node, report, path, CORE_EVENTS):
            key = canonical(following, rounds)
            if key not in seen:
                seen.add(key)
                queue.append((following, (*path, label)))
    return WayForward(nodes, frozenset(seen), report)


def explore(situation: str, detour_events: tuple[Event, ...] = (), rounds: int = 1) -> Report:
    """Every state reachable from a fresh start in `situation` by the routine's own way forward
    (CORE and time passing), then one of `detour_events` tried from each of those states and
    everything the way forward leads on to from there, each transition checked. The groups'
    runs together try every event from every state of the way forward.

    Breadth first: a state is expanded with the fewest detours it can be reached with."""
    began = time.perf_counter()
    base = way_forward(situation, rounds)
    report = base.report.copy()
    seen = set(base.seen)
    frontier: deque[tuple[Node, tuple[str, ...]]] = deque()
    detouring = tuple(e for e in detour_events if e not in CORE_EVENTS)
    for node, path in base.nodes:
        for following, label in _answers(node, report, path, detouring):
            key = canonical(following, rounds)
            if key not in seen:
                seen.add(key)
                frontier.append((following, (*path, label)))
    while frontier:  # what the way forward leads on to after the detour
        node, path = frontier.popleft()
        report.reached(node, path)
        for following, label in _successors(node, report, path, CORE_EVENTS):
            key = canonical(following, rounds)
            if key not in seen:
                seen.add(key)
                frontier.append((following, (*path, label)))
    in_every_language(report)
    report.states = len(seen)
    report.seconds = time.perf_counter() - began
    return report


def in_every_language(report: Report) -> None:
    """The word budget in each other language's main locale: every distinct answer the
    exploration counted (in en-US) rendered and counted again, without exploring again (once
    per process: the renderers and what they have checked are kept between runs)."""
    explored = RENDERERS[EXPLORED_LOCALE]
    unchecked = [memo for memo in explored.budgeted if memo not in _CHECKED_EVERYWHERE]
    for locale in MAIN_LOCALES:
        if locale == EXPLORED_LOCALE:
            continue
        other = RENDERERS[locale]
        for memo in unchecked:
            s, lines = explored.budgeted[memo]
            count = other.longest(s, lines)
            if count > WORD_BUDGET:
                report.note(f"over {WORD_BUDGET} words in {locale}",
                            f"{count} words in {[line.key for line in lines]} at step {s.step}")
    _CHECKED_EVERYWHERE.update(unchecked)


def _successors(node: Node, report: Report, path: tuple[str, ...],
                events: tuple[Event, ...]) -> Iterator[tuple[Node, str]]:
    """Every next node by time passing or one of `events`, with its label."""
    if node.in_session:
        # Silence, or the runner leaving: the session closes, then time passes. What only
        # lasts the session is dropped as the next one will (State.new_session, and what was
        # said about driving), so states that differ only in it are explored once.
        ended = advance(node.state, Event(Ev.SESSION_ENDED, at=node.now), ROUTINE).state
        report.transitions += 1
        left = Node(ended.new_session(), node.now, False, node.situation,
                    _session_over(node.ghost))
        for wait in WAITS_MIN:
            yield evolve(left, now=node.now + wait * MINUTE), f"(silence, {wait} min)"
    else:
        for wait in WAITS_MIN:  # coming back later still
            yield evolve(node, now=node.now + wait * MINUTE), f"({wait} min)"
    yield from _answers(node, report, path, events)


def _answers(node: Node, report: Report, path: tuple[str, ...],
             events: tuple[Event, ...]) -> Iterator[tuple[Node, str]]:
    """The node after each of `events` (each way its timer calls can end), checked."""
    renderer = RENDERERS[EXPLORED_LOCALE]
    state = node.state if node.in_session else node.state.new_session()
    asking = Node(state, node.now, node.in_session, node.situation, node.ghost)
    for template in events:
        event = evolve(template, at=node.now, in_car=node.in_car)
        label = _LABELS[template]
        for outcome in outcomes(state, event):
            report.transitions += 1
            ghost, broken = check(asking, event, outcome, renderer)
            for problem in broken:
                rule, _, detail = problem.partition(": ")
                report.note(rule, f"[{node.situation}] {' > '.join((*path, label))}"
                                  + (f": {detail}" if detail else ""))
            yield (Node(outcome.state, node.now, not outcome.ends_session, node.situation,
                        ghost), label)


def _label(event: Event) -> str:
    if event.task is not None:
        return f"{event.kind.value}=task:{event.task.purpose.value}"
    return f"{event.kind.value}{'=' + str(event.value) if event.value else ''}"


_LABELS = {event: _label(event) for event in EVENTS}


def replay(situation: str, labels: tuple[str, ...]) -> list[str]:
    """A path as the report prints it, walked again: what each step said (for debugging a
    broken rule; the first timer result each call gets is the one taken)."""
    by_label = {_label(e): e for e in EVENTS}
    node = Node(State(), START, False, situation, Ghost())
    said = []
    for label in labels:
        if label.startswith("("):
            minutes = float(label.strip("()").split()[-2])
            state = node.state
            if node.in_session:
                state = advance(state, Event(Ev.SESSION_ENDED, at=node.now), ROUTINE).state
            node = evolve(node, state=state, now=node.now + minutes * MINUTE, in_session=False)
            said.append(label)
            continue
        template = by_label[label]
        state = node.state if node.in_session else node.state.new_session()
        event = evolve(template, at=node.now, in_car=node.in_car)
        outcome = next(outcomes(state, event))
        said.append(f"{label}: {outcome.keys} step={outcome.state.step} "
                    f"pending={outcome.state.pending} round={outcome.state.cold_round}")
        node = Node(outcome.state, node.now, not outcome.ends_session, situation, node.ghost)
    return said

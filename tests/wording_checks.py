"""Every template, rendered the way the skill renders it: the shared tools of the wording tests.

The conversation tests assert which template keys the routine chose; the words behind each key
are checked once per template and locale (tests/test_wording.py, tests/test_helper_phrasing.py).
This module finds the templates a locale speaks, renders each one in every state it can be
spoken from, with the arguments the routine passes (ARGS), and explores the routine to check
that ARGS really covers what it passes.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError

from skill import timers
from skill.routine import (
    Ev,
    Event,
    Line,
    Outcome,
    Purpose,
    Question,
    State,
    StepShown,
    Timer,
    TimerCall,
    TimerReport,
    TimerResult,
    advance,
    load_routine,
)
from skill.speech import Voice, template_dirs, to_text
from skill.timers import CONTINUE_WITH_SKILL_NAME
from tests.conftest import TEMPLATE_LOCALES

ROUTINE = load_routine()
STEP_IDS = tuple(s.id for s in ROUTINE.steps)
# The English locales whose words can differ (the others share en-US's templates): the
# English-only checks (the caregiver's phrasing, walking, calls) run on these.
ENGLISH = tuple(locale for locale in TEMPLATE_LOCALES if locale.startswith("en-"))
MACROS = {"macros.ssml", "timer/macros.ssml"}  # shared pieces, never spoken on their own


@dataclass(frozen=True)
class Template:
    """One template file: a key, its phrasing variant ("" for the original), its kind."""

    key: str
    variant: str
    ext: str  # "ssml" (speech) or "txt" (card, screen and timer text)

    @property
    def name(self) -> str:
        return f"{self.key}{'@' + self.variant if self.variant else ''}.{self.ext}"

    @property
    def original(self) -> Template:
        return replace(self, variant="")


@cache
def templates(locale: str) -> tuple[Template, ...]:
    """Every template file a locale can speak or show (its own, or the ones it falls back to)."""
    found = set()
    for folder in template_dirs(locale):
        for path in folder.rglob("*.*"):
            relative = str(path.relative_to(folder))
            if relative in MACROS:
                continue
            stem, _, ext = relative.rpartition(".")
            key, _, variant = stem.partition("@")
            found.add(Template(key, variant, ext))
    return tuple(sorted(found, key=lambda t: t.name))


def template_params(locale_list: tuple[str, ...] | list[str] = TEMPLATE_LOCALES,
                    *, variant: str | None = None) -> list[Any]:
    """pytest params (locale, template) for every template of every locale given, for a test
    whose arguments are `loc, template` (conftest parametrizes any argument named `locale`)."""
    return [pytest.param(locale, t, id=f"{locale}-{t.name}")
            for locale in locale_list for t in templates(locale)
            if variant is None or t.variant == variant]


# --- the states and arguments each template is spoken with ------------------------------

# Every place the routine speaks from: before it starts, at each step, at its questions and
# after the last step. A template that names the step cannot render before step 1.
STATES = (
    State(),
    *(State(step=n) for n in range(1, ROUTINE.total + 1)),
    State(step=3, pending=Question.PAIN_GATE),
    State(step=ROUTINE.cold_step, pending=Question.CRAMP_GONE),
    State(step=ROUTINE.total, finished=True),
)

PURPOSES = tuple(p.value for p in Purpose)
SIGNS = {sign_id: sign.urgency.value for sign_id, sign in ROUTINE.signs.items()}
TIMER_FAILURES = tuple(dict.fromkeys((*typing.get_args(timers.RefusalReason),
                                      *typing.get_args(timers.UnavailableReason))))
_TIMER_LEFT: list[dict[str, Any]] = [{"purpose": p, "minutes": m, "paused": paused}
               for p in PURPOSES for m in (1, 6) for paused in (False, True)]


def _passed_at_once() -> list[dict[str, Any]]:
    """Every run of steps the routine can pass in one turn (skill/routine/turn.py
    skip_barred): consecutive steps barred after an injury sign, increasing pain or both, in
    either direction, named in the order passed, with why the first of them is barred."""
    runs: list[dict[str, Any]] = []
    steps = ROUTINE.steps
    for injured, pain in ((True, False), (False, True), (True, True)):
        def why(n: int, injured: bool = injured, pain: bool = pain) -> str | None:
            if injured and steps[n].not_after_injury:
                return "injury"
            return "pain" if pain and steps[n].pain_gate else None

        for start in range(len(steps)):
            for way in (1, -1):
                n = start
                names: tuple[str, ...] = ()
                while 0 <= n < len(steps) and why(n):
                    names = (*names, steps[n].id)
                    run = {"steps": names, "why": why(start)}
                    if run not in runs:
                        runs.append(run)
                    n += way
    return runs


# The arguments the routine (and skill/response.py, skill/conversation.py for card, screen
# and timer text) passes with each key: every value a choice in a template can depend on,
# and representative numbers. test_wording checks this against what the routine passes.
ARGS: Mapping[str, list[dict[str, Any]]] = {
    "open/welcome": [{"first_time": True}, {"first_time": False}],
    "step/stop": [{"can_walk": True}, {"can_walk": False}],
    "safety/red_flag": [*({"flag": f, "urgency": u} for f, u in SIGNS.items()),
                        {"flag": None, "urgency": "doctor"}],
    "safety/skipped": _passed_at_once(),
    "prompt/after_stop": [*({"next": s.id} for s in ROUTINE.steps[1:]), {"next": None}],
    "heat/not_yet": [{"stop": True}, {"stop": False}],
    "memory/welcome_back": [
        {"stale": stale, "hours": hours, "days": days, "timer": timer}
        for stale, hours, days in [(False, 0, 0), (True, 13, 0), (True, 30, 1), (True, 80, 3)]
        for timer in (None, *(t for t in _TIMER_LEFT if t["minutes"] > 1),
                      {"purpose": "cold", "minutes": 1, "paused": False})
    ],
    "memory/frequent": [{"count": 3}, {"count": 7}],
    "cold/come_back": [{"minutes": 40}, {"minutes": 1}],
    "cold/round": [{"round": 1}, {"round": 2}],
    "cold/wait": [{"minutes": 40}],
    "timer/wait_offer": [{"minutes": 40}],
    "timer/left": _TIMER_LEFT,
    "timer/set": [{"purpose": p, "minutes": m} for p in PURPOSES for m in (1, 15, 20, 40)],
    "timer/time_yourself": [{"purpose": p, "minutes": m} for p in PURPOSES for m in (1, 15)],
    "timer/failed": [{"reason": r, "purpose": p} for r in (*TIMER_FAILURES, "") for p in PURPOSES],
    "timer/changed": [{"op": op, "purpose": p, "result": result}
                      for op in ("cancel", "pause", "resume") for p in PURPOSES
                      for result in ("done", "not_found")],
    "timer/change_failed": [{"op": op} for op in ("cancel", "pause", "resume")],
    "timer/choose": [{"heard": 7}, {"heard": 90}],
    "timer/permission_refused": [{"status": s} for s in ("denied", "not_answered", "error")],
    "nav/no_such_step": [{"heard": h} for h in (
        "9", "0", "42", None, "five & a half", "<speak>3</speak>", "x" * 300)],
    "fallback/miss": [{"level": level} for level in (1, 2, 3)],
    # Text, not speech: card, screen and timer labels (skill/response.py, skill/conversation.py).
    "card/step": [{"number": 1, "instruction": "Sit down & rest."}],  # & stays plain
    "screen/title": [{"number": 1}],
    "screen/progress": [{"number": 1}],
    "timer/label": [{"purpose": p, "round": r} for p in PURPOSES for r in (1, 2)],
    "timer/announce": [{"purpose": p} for p in PURPOSES],
    # A timer's "continue with ...?" (skill/conversation.py): the skill's name is Alexa's
    # placeholder, filled in by Alexa.
    "timer/confirm": [{"purpose": p, "skill": CONTINUE_WITH_SKILL_NAME} for p in PURPOSES],
}


@dataclass(frozen=True)
class Rendered:
    """One template rendered in one state with one set of arguments."""

    locale: str
    template: Template
    state: State
    args: Mapping[str, Any]
    markup: str  # as rendered: SSML (without <speak>) or plain text
    text: str  # what a listener hears, or a reader sees

    @property
    def where(self) -> str:
        s = self.state
        pending = s.pending.value if s.pending else None
        return (f"{self.locale} {self.template.name}, step {s.step}, pending {pending}, "
                f"finished {s.finished}, {dict(self.args)}")


def render(locale: str, template: Template, state: State, args: Mapping[str, Any]) -> str:
    """The template's markup, rendered as skill.speech renders it for the skill."""
    variants = (template.variant,) if template.variant else ()
    voice = Voice(locale, state, ROUTINE, variants=variants)
    if template.ext == "txt":
        return voice.text(template.key, **args)
    return voice.ssml(Line(template.key, args))


def state_for(key: str) -> State:
    """A state a key is naturally spoken in: its step's, the wrap-up's, or a step's."""
    last = key.rsplit("/", 1)[-1]
    if last in STEP_IDS and key.split("/")[0] in ("step", "more", "safety"):
        return State(step=STEP_IDS.index(last) + 1)
    if key.startswith("finish/"):
        return State(step=ROUTINE.total, finished=True)
    return State(step=1)


def one(locale: str, template: Template, state: State | None = None,
        **args: Any) -> Rendered:
    """A single rendering (for content checks that need particular arguments)."""
    state = state or state_for(template.key)
    markup = render(locale, template, state, args)
    text = to_text(markup) if template.ext == "ssml" else markup
    return Rendered(locale, template, state, args, markup, text)


@cache
def renders(locale: str, template: Template) -> tuple[Rendered, ...]:
    """The template in every state and with every argument set it can be spoken with."""
    out = []
    for state in STATES:
        for args in ARGS.get(template.key, [{}]):
            try:
                markup = render(locale, template, state, args)
            except UndefinedError:
                if state.step == 0:
                    continue  # a key that names the step is never spoken before step 1
                raise  # ARGS lacks a value this template needs: add it
            text = to_text(markup) if template.ext == "ssml" else markup
            out.append(Rendered(locale, template, state, args, markup, text))
    return tuple(out)


def template(locale: str, name: str) -> Template:
    """A template of the locale by file name ("step/cold@helper.ssml")."""
    found = {t.name: t for t in templates(locale)}
    return found[name]


def variants_of(locale: str, key: str) -> tuple[Template, ...]:
    """The original and every variant of a key, as the locale has them."""
    return tuple(t for t in templates(locale) if t.key == key)


# --- what the routine passes: explored from states across the routine --------------------

T0 = datetime(2026, 11, 27, 17, 0, tzinfo=UTC).timestamp()  # any time: only differences count
MINUTE = 60.0
HOUR = 3600.0


def _seeds() -> Iterator[State]:
    """States from across the routine (the routine's choices never depend on who listens or
    on the words: only a first-timer's disclaimer depends on the user, and it takes no
    arguments)."""
    flags: list[dict[str, Any]] = [
        {}, {"injured": True, "cannot_walk": True}, {"pain_worse": True}, {"hands_off": True},
        {"cramp_stays": True}, {"cramp_stays": True, "heat_explained": True},
        {"car_said": "driving"}, {"car_said": "parked", "held_from": 2},
    ]
    cold = ROUTINE.cold_step
    round_on: dict[str, Any] = {"cold_round": 1, "round_started_at": T0 - 10 * MINUTE,
                "round_ends_at": T0 + 10 * MINUTE}
    round_off: dict[str, Any] = {"cold_round": 1, "round_started_at": T0 - 30 * MINUTE,
                 "round_ends_at": T0 - 10 * MINUTE}
    round_old: dict[str, Any] = {"cold_round": 2, "round_started_at": T0 - 61 * MINUTE,
                 "round_ends_at": T0 - 41 * MINUTE}
    timers_on = [
        (Timer("c", Purpose.COLD, 15, T0 + 6 * MINUTE),),
        (Timer("c", Purpose.COLD, 15, T0 + 6 * MINUTE, paused_left=6 * MINUTE),),
        (Timer("h", Purpose.HEAT, 15, T0 + MINUTE),),
        (Timer("w", Purpose.WAIT, 40, T0 + 30 * MINUTE),),
        (Timer("c", Purpose.COLD, 15, T0 - MINUTE),),  # gone off since the last turn
    ]
    asked = {
        Question.PAIN_GATE: [3], Question.RESUME: [2, cold], Question.FORGET: [2],
        Question.TIMER_OFFER: [cold, cold + 1], Question.CRAMP_GONE: [cold],
        Question.WAIT_OFFER: [cold], Question.SIGN_CHECK: [0, 1, 3, cold],
    }
    today = datetime.fromtimestamp(T0, UTC).date()
    recent = tuple((today - timedelta(days=d)).isoformat() for d in (9, 4))  # and one today
    yield State(saved_at=T0)  # a new user
    base = State(greeted=True, first_time=False, saved_at=T0)
    for step in range(0, ROUTINE.total + 1):
        for extra in flags:
            yield replace(base, step=step, **extra)
        yield replace(base, step=step, episodes=recent)
    yield replace(base, step=ROUTINE.total, finished=True)
    for question, steps in asked.items():
        for step in steps:
            for unclear in (0, 1):
                yield replace(base, step=step, pending=question, unclear=unclear)
    for rounds in (round_on, round_off, round_old):
        extras: list[dict[str, Any]] = [{}, {"cramp_stays": True}]
        for extra in extras:
            yield replace(base, step=cold, **rounds, **extra)
            yield replace(base, step=cold + 1, **rounds, **extra)
    for timers_set in timers_on:
        for step in (cold, cold + 1):
            yield replace(base, step=step, timers=timers_set, **round_on)
    for purpose in Purpose:
        yield replace(base, step=cold, wanted_purpose=purpose, wanted_minutes=15)


def _events(in_car: bool) -> Iterator[Event]:
    for kind in Ev:
        if kind in (Ev.TIMER_RESULT, Ev.LAUNCH):
            continue  # results follow a timer call; launches open a session (below)
        values: tuple[str | None, ...] = (None,)
        if kind is Ev.RED_FLAG:
            values = (*ROUTINE.signs, None)
        elif kind is Ev.GO_TO:
            values = (*(str(n) for n in range(1, ROUTINE.total + 1)), "9", None)
        elif kind is Ev.SET_TIMER:
            values = (None, "15", "20", "7")
        elif kind is Ev.PERMISSION:
            values = ("accepted", "denied", "not_answered", "error")
        for value in values:
            yield Event(kind, value, at=T0, in_car=in_car)


_REPORTS = [(TimerResult.DONE, ""), (TimerResult.NOT_FOUND, ""),
            (TimerResult.NEEDS_PERMISSION, ""), (TimerResult.FAILED, "timeout")]


def _settled(outcome: Outcome, event: Event) -> Iterator[Outcome]:
    """The turn as skill.conversation finishes it: each timer call answered, every way."""
    calls = [e for e in outcome.effects if isinstance(e, TimerCall)]
    if not calls:
        yield outcome
        return
    for result, reason in _REPORTS:
        report = TimerReport(calls[0], result, timer_id="t", reason=reason)
        later = advance(outcome.state, Event(Ev.TIMER_RESULT, at=event.at, in_car=event.in_car,
                                             report=report), ROUTINE)
        yield from _settled(outcome.then(later), event)


def _turns() -> Iterator[Outcome]:
    """One turn from every seed state, by every event, in a car and not."""
    for in_car in (False, True):
        events = list(_events(in_car))
        for seed in _seeds():
            for event in events:
                yield from _settled(advance(seed, event, ROUTINE), event)
            for away in (0.0, 25 * MINUTE, 61 * MINUTE, 13 * HOUR, 30 * HOUR, 80 * HOUR):
                launch = Event(Ev.LAUNCH, at=T0 + away, in_car=in_car)
                yield from _settled(advance(seed.new_session(), launch, ROUTINE), launch)


@cache
def passed_by_the_routine() -> Mapping[str, tuple[Mapping[str, Any], ...]]:
    """Every argument set the routine passed with each key in the explored turns."""
    seen: dict[str, set[tuple[tuple[str, Any], ...]]] = {}
    for outcome in _turns():
        shown = outcome.shown
        lines = [*outcome.lines, *((outcome.prompt,) if outcome.prompt else ())]
        if isinstance(shown, StepShown):
            lines += [shown.instruction, *((shown.timer,) if shown.timer else ())]
        for line in lines:
            seen.setdefault(line.key, set()).add(tuple(sorted(flatten(line.args).items())))
    return {key: tuple(dict(args) for args in sets) for key, sets in seen.items()}


def flatten(args: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested arguments (a timer's purpose and minutes) as dotted names."""
    flat: dict[str, Any] = {}
    for name, value in args.items():
        if isinstance(value, Mapping):
            flat |= flatten(value, f"{prefix}{name}.")
        else:
            flat[f"{prefix}{name}"] = value
    return flat


# --- the article's facts, per language ---------------------------------------------------

FACTS_DIR = Path(__file__).parent / "facts"
Facts = Mapping[str, tuple[Mapping[str, Any], tuple[str, ...]]]


def language_of(locale: str) -> str:
    return locale.split("-")[0]


@cache
def facts(language: str) -> Facts:
    """The article's facts (DESIGN.md section 2), each assigned to the template that must say
    it, as that language's templates phrase them (compared case-insensitively): rendered with
    the arguments given, in the state of the key's step (state_for). tests/facts/<language>.json
    is {key: {"args": {...}, "phrases": [...]}}; a language without one has no facts to check
    and fails (FileNotFoundError), so a new language cannot slip through unchecked.

    English: the disclaimer heard on first launch (open/welcome, DESIGN.md section 4) is
    trimmed to "not a doctor" so that the first instruction comes within 25 words; help and
    the checklist card say it in full."""
    data = json.loads((FACTS_DIR / f"{language}.json").read_text(encoding="utf-8"))
    return {key: (dict(entry["args"]), tuple(entry["phrases"])) for key, entry in data.items()}


# English, as the rest of the English-only checks (ARTICLE, the helper's phrasing) use it.
FACTS: Facts = facts("en")

# Every fact of the article (DESIGN.md section 2), as the English templates phrase it: each
# must be said somewhere in the routine's own words (ROUTINE_FAMILIES), whichever template
# says it. A fact is a tuple of phrases, any one of which says it.
ARTICLE: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "stop": (("stop running",), ("safe to rest and stretch",), ("walk home",),
             ("treadmill",), ("sit down",)),
    "stretch": (("straighten",), ("toes up toward your knee",), ("calf cramps",),
                ("most common",)),
    "massage": (("gentle pressure",), ("relax",), ("recover",),
                ("if the pain increases, stop the massage",)),
    "cold": (("cold compress",), ("reduces blood flow",), ("bruising",), ("further damage",),
             ("15 to 20 minutes",), ("hourly", "every hour"), ("completely gone",),
             ("never on bare skin", "never put ice on bare skin"), ("damage the skin",)),
    "heat": (("once the cramp has passed", "main cramp has passed"), ("hot shower",),
             ("very warm bath",), ("15 minutes",), ("shower on it", "shower on the muscle"),
             ("heating pad",)),
    "hydrate": (("plenty of water",), ("before, during and after",), ("rehydration",),
                ("sweating",), ("dehydration",)),
    "medicine": (("non-steroidal anti-inflammator",), ("naproxen",), ("ibuprofen",),
                 ("still sore", "soreness lingers"), ("as the label says",),
                 ("over-the-counter medicine isn't enough, see a doctor",),
                 ("muscle injury",), ("professional treatment",)),
    "rest": (("until all the pain is gone",), ("several days",), ("other muscle groups",),
             ("fully recovered",)),
    "things you'll need": (("cold compress",), ("non-steroidal anti-inflammator",)),
    "causes": (("overuse",), ("strain",), ("dehydration",), ("too far, too fast",),
               ("training or warm-up",)),
    "prevention": (("endurance training or plyometrics",), ("rest days",), ("conditioning",)),
    "red flags": (("fall",), ("serious injury",), ("medical attention",), ("after every run",),
                  ("won't ease", "lasts and lasts"), ("diabetes or thyroid disease",),
                  ("health professional",)),
}
# The routine's own words: where the article's facts must be said.
ROUTINE_FAMILIES = ("step/", "more/", "finish/wrap_up", "info/", "safety/")

# Where the emergency number must be heard (or read), with the arguments that carry it.
EMERGENCY: Mapping[str, list[dict[str, Any]]] = {
    "safety/red_flag": [{"flag": f, "urgency": u} for f, u in SIGNS.items() if u == "urgent"],
    "safety/emergency": [{}],
    "open/welcome": [{"first_time": True}],
    "open/disclaimer": [{}],
    "help/disclaimer": [{}],
    "card/checklist": [{}],
    "screen/disclaimer": [{}],
}


def emergency_number(locale: str) -> str | None:
    return ROUTINE.emergency_numbers.get(locale.rpartition("-")[2].upper())


def spoken_number(number: str) -> re.Pattern[str]:
    """How the number must appear in SSML: as its digits, inside the markup that tells the
    voice how to say it, in any language: read digit by digit (<say-as interpret-as="digits">,
    en-US "nine one one"), as a number (<say-as interpret-as="cardinal">, French "le quinze"),
    or in the words people there use (<sub alias="triple zero">000</sub>, German
    <sub alias="eins eins zwei">112</sub>): the digits stay in the markup, so the check needs
    no language, and the listener hears the locale's way of saying them."""
    digits = re.escape(number)
    return re.compile(
        rf'<say-as interpret-as="(?:digits|cardinal|telephone)">\s*{digits}\s*</say-as>'
        rf'|<sub alias="[^"<>]+">\s*{digits}\s*</sub>')

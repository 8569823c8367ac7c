"""The words behind every template key, checked once per template and locale.

Conversation and safety tests assert which keys the routine chose, in any language; this is
where the words are checked. For every locale with a model and every template (each variant
too), rendered in every state with the arguments the routine passes (tests/wording_checks.py
ARGS, itself checked against what the routine passes): the speech is SSML Alexa accepts, text
for cards and screens is plain, the numbers the routine passes are said, and the emergency
number is the locale's. English content (the article's facts, the caregiver's phrasing, what
must never be said) is checked for the English locales only, here and nowhere else.

One test per locale walks every template and reports every one that breaks the rule at once
(a test per template and locale cost more in pytest's bookkeeping than in the checks).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from jinja2 import UndefinedError

from skill.routine import State
from tests.conftest import LOCALES, TEMPLATE_LOCALES, check_ssml
from tests.full_run import words
from tests.wording_checks import (
    ARGS,
    ARTICLE,
    EMERGENCY,
    ENGLISH,
    FACTS,
    ROUTINE,
    ROUTINE_FAMILIES,
    SIGNS,
    STEP_IDS,
    Rendered,
    Template,
    emergency_number,
    facts,
    flatten,
    language_of,
    one,
    passed_by_the_routine,
    renders,
    spoken_number,
    templates,
    variants_of,
)

TOTAL = ROUTINE.total
# Tests here take the locale as `loc`: conftest parametrizes any argument named `locale`.
XML_TAG = re.compile(r"<\s*/?\s*[A-Za-z!?]")
XML_ENTITY = re.compile(r"&(#\d+|#x[0-9A-Fa-f]+|[A-Za-z]+);")


# --- every locale: well-formed, plain where it must be, complete ----------------------------


def rendered_or_why(loc: str, template: Template,
                    problems: list[str]) -> tuple[Rendered, ...] | None:
    """The template's renders; a template that cannot render (ARGS lacks a value it needs)
    is a problem of its own, noted (None), and the test goes on to the next template."""
    try:
        return renders(loc, template)
    except UndefinedError as error:
        problems.append(f"{loc} {template.name} cannot render: {error}")
        return None


@pytest.mark.parametrize("loc", TEMPLATE_LOCALES)
def test_every_template_renders_as_alexa_and_the_app_accept(loc: str) -> None:
    """Every template, rendered in every state with every argument set the routine passes:
    speech is SSML with allowed tags only, text for cards and screens has no tags or
    entities, and something is said."""
    problems: list[str] = []
    checked: set[str] = set()  # markup already found well-formed (most renders repeat)
    for template in templates(loc):
        rendered = rendered_or_why(loc, template, problems)
        if rendered is None:
            continue
        if not rendered:
            problems.append(f"{template.name} renders in no state")
        for r in rendered:
            if not r.text.strip():
                problems.append(f"nothing said: {r.where}")
            elif template.ext == "ssml":
                if r.markup in checked:
                    continue
                try:
                    check_ssml(f"<speak>{r.markup}</speak>")
                    checked.add(r.markup)
                except (AssertionError, ET.ParseError) as error:
                    problems.append(f"{r.where}: {error}: {r.markup!r}")
            elif XML_TAG.search(r.markup) or XML_ENTITY.search(r.markup):
                problems.append(f"markup in text: {r.where}: {r.markup!r}")
    assert not problems, "\n".join(problems)


def test_the_arguments_rendered_are_those_the_routine_passes() -> None:
    """Every argument the routine passes with a key (explored across the routine's states)
    is in ARGS, with every value a template can choose on, so the renders above see them all."""
    missing = []
    for key, passed in passed_by_the_routine().items():
        table = [flatten(args) for args in ARGS.get(key, [{}])]
        names = {name for args in table for name in args}
        for args in passed:
            for name, value in args.items():
                if name not in names:
                    missing.append(f"{key}: argument {name!r}")
                elif ((not isinstance(value, int) or isinstance(value, bool))
                      and value not in {t.get(name) for t in table}):
                    missing.append(f"{key}: {name}={value!r}")
    assert not sorted(set(missing))


# The numbers and values the routine passes, which every language must say: (key, state,
# arguments, what the text must contain).
NUMBERS: list[tuple[str, State, dict[str, Any], tuple[str, ...]]] = [
    *(("step/header", State(step=n), {}, (str(n), str(TOTAL))) for n in (1, 5, TOTAL)),
    *(("nav/where", State(step=n), {}, (str(n),)) for n in (1, 5, TOTAL)),
    *(("nav/left", State(step=n), {}, (str(TOTAL - n),)) for n in (1, 5)),
    *(("bye/stop", State(step=n), {}, (str(n),)) for n in (1, 5, TOTAL)),
    *(("bye/paused", State(step=n), {}, (str(n),)) for n in (1, 5, TOTAL)),
    ("nav/already_finished", State(step=TOTAL, finished=True), {}, (str(TOTAL),)),
    ("nav/no_such_step", State(step=2), {"heard": "42"}, ("42", str(TOTAL))),
    ("nav/no_such_step", State(step=2), {"heard": "five & a half"}, ("five & a half",)),
    ("nav/no_such_step", State(step=2), {"heard": "<speak>3</speak>"}, ("<speak>3</speak>",)),
    ("nav/no_such_step", State(step=2), {"heard": "x" * 300}, ("x" * 40,)),
    ("memory/welcome_back", State(step=4),
     {"stale": False, "hours": 0, "days": 0, "timer": {"purpose": "cold", "minutes": 6,
                                                      "paused": False}}, ("4", "6")),
    ("memory/welcome_back", State(step=4),
     {"stale": True, "hours": 80, "days": 3, "timer": None}, ("4", "3")),
    ("memory/welcome_back", State(step=4),
     {"stale": True, "hours": 13, "days": 0, "timer": None}, ("4", "13")),
    ("memory/frequent", State(step=1), {"count": 7}, ("7",)),
    ("timer/left", State(step=4), {"purpose": "cold", "minutes": 6, "paused": False}, ("6",)),
    ("timer/left", State(step=4), {"purpose": "cold", "minutes": 6, "paused": True}, ("6",)),
    ("timer/set", State(step=4), {"purpose": "cold", "minutes": 20}, ("20",)),
    ("timer/set", State(step=4), {"purpose": "wait", "minutes": 40}, ("40",)),
    ("timer/time_yourself", State(step=4), {"purpose": "cold", "minutes": 20}, ("20",)),
    # The wait offer follows cold/wait, which says the minutes.
    ("cold/wait", State(step=4), {"minutes": 40}, ("40",)),
    ("cold/come_back", State(step=4), {"minutes": 40}, ("40",)),
    ("cold/round", State(step=4), {"round": 2}, ("2",)),
    ("card/step", State(step=4), {"number": 4, "instruction": "Sit & rest."},
     ("4", str(TOTAL), "Sit & rest.")),
    ("screen/progress", State(step=4), {"number": 4}, ("4", str(TOTAL))),
    ("timer/label", State(step=4), {"purpose": "cold", "round": 2}, ("2",)),
]


@pytest.mark.parametrize("loc", TEMPLATE_LOCALES)
def test_numbers_and_values_the_routine_passes_are_said(loc: str) -> None:
    """Step numbers, minutes, rounds and what was heard reach the listener in every phrasing,
    escaped in SSML and intact to the ear."""
    problems: list[str] = []
    for key, state, args, said in NUMBERS:
        found = variants_of(loc, key)
        if not found:
            problems.append(f"{loc} has no {key}")
        for template in found:
            text = one(loc, template, state, **args).text
            missing = [s for s in said if s not in text]
            if missing:
                problems.append(f"{template.name} lacks {missing}: {text!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("loc", TEMPLATE_LOCALES)
def test_a_long_value_heard_is_cut_short(loc: str) -> None:
    """A 300-character "step" Alexa heard is not read out whole."""
    for template in variants_of(loc, "nav/no_such_step"):
        text = one(loc, template, State(step=2), heard="x" * 300).text
        assert "x" * 41 not in text


@pytest.mark.parametrize("loc", TEMPLATE_LOCALES)
def test_misunderstandings_escalate_from_short_to_explained(loc: str) -> None:
    """The first "sorry, I didn't get that" is shorter than the second, which explains."""
    for template in variants_of(loc, "fallback/miss"):
        first, second = (one(loc, template, State(step=2), level=level).text
                         for level in (1, 2))
        assert words(first) < words(second)
        assert "2" in second  # the second names where we are


@pytest.mark.parametrize("loc", LOCALES)
def test_the_emergency_number_is_the_locales(loc: str) -> None:
    """Wherever the skill tells someone to call for help, it says the locale's number: digit
    by digit in speech (Australia's 000 as "triple zero"), plain on cards and screens."""
    number = emergency_number(loc)
    assert number, f"no emergency number for {loc}"
    others = {n for n in ROUTINE.emergency_numbers.values() if n != number}
    problems: list[str] = []
    for key in sorted(EMERGENCY):
        found = variants_of(loc, key)
        if not found:
            problems.append(f"{loc} has no {key}")
        for template in found:
            for args in EMERGENCY[key]:
                r = one(loc, template, **args)
                if template.ext == "ssml":
                    said = spoken_number(number).search(r.markup)
                else:
                    said = re.search(rf"(?<!\d){number}(?!\d)", r.text)
                # Another country's number, unless the words hold it whatever the number is
                # ("15 to 20 minutes" is no call to France's 15).
                static = set(re.findall(r"\d+", one(loc, template, **args,
                                                      emergency_number="#").text))
                wrong = [n for n in others - static
                         if re.search(rf"(?<!\d){n}(?!\d)", r.text)]
                if not said or wrong:
                    problems.append(f"{r.where}: {r.markup!r}")
    assert not problems, "\n".join(problems)


# --- English content: the en locales only -------------------------------------------------


def english(loc: str) -> bool:
    return loc in ENGLISH


@pytest.mark.parametrize("loc", TEMPLATE_LOCALES)
def test_each_template_says_the_articles_facts(loc: str) -> None:
    """Each fact of the article is said by the template that must say it (DESIGN.md 2), in
    the language's own words (tests/facts/<language>.json; a language without one fails), and
    every key English assigns facts to has them assigned in this language too."""
    assigned = facts(language_of(loc))
    problems = [f"{language_of(loc)} assigns no facts to {key}"
                for key in sorted(set(FACTS) - set(assigned))]
    for key, (args, phrases) in sorted(assigned.items()):
        kind = "txt" if key.startswith(("card/", "screen/")) else "ssml"
        r = one(loc, Template(key, "", kind), **args)
        missing = [fact for fact in phrases if fact.lower() not in r.text.lower()]
        if missing:
            problems.append(f"{r.where} lacks {missing}: {r.text!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("loc", ENGLISH)
def test_every_fact_of_the_article_is_said_in_the_routine(loc: str) -> None:
    """However the templates are trimmed, each fact of the article is still said somewhere in
    the routine's own words: a step, its detail, the wrap-up, the info or a safety line."""
    said = " ".join(r.text.lower() for t in templates(loc) if not t.variant
                    and t.key.startswith(ROUTINE_FAMILIES) for r in renders(loc, t))
    missing = [f"{part}: {' / '.join(phrases)}" for part, facts in ARTICLE.items()
               for phrases in facts if not any(p.lower() in said for p in phrases)]
    assert not missing, missing


def test_every_step_has_its_facts_assigned() -> None:
    """Each step's instruction and its detail carry facts of the article, checked above."""
    for step in STEP_IDS:
        assert f"step/{step}" in FACTS and f"more/{step}" in FACTS, step


CLAIMS_TO_CALL = re.compile(r"\b(I'll|I will|I'm going to|let me|I can) call\b|\bcalling\b",
                            re.IGNORECASE)


@pytest.mark.parametrize("loc", ENGLISH)
def test_no_template_claims_to_call_anyone(loc: str) -> None:
    """The skill cannot place calls and never says it will."""
    claims = [f"{r.where}: {r.text!r}" for template in templates(loc)
              for r in renders(loc, template) if CLAIMS_TO_CALL.search(r.text)]
    assert not claims, "\n".join(claims)


def _tells_to_walk(text: str) -> list[str]:
    """Sentences that mention walking without saying not to."""
    sentences = re.split(r"(?<=[.:;?!])\s+", text)
    negation = re.compile(r"\b(don't|do not|not|shouldn't|never|no)\b|n't\b", re.IGNORECASE)
    return [s for s in sentences if re.search(r"\bwalk", s, re.IGNORECASE)
            and not negation.search(s)]


CANNOT_WALK = [sign for sign, s in ROUTINE.signs.items() if s.cannot_walk]


@pytest.mark.parametrize("loc", ENGLISH)
def test_someone_who_cannot_walk_is_never_told_to_walk(loc: str) -> None:
    """Step 1 for someone who can't walk (can_walk=False) has no "walk home", in any phrasing,
    and neither has what is said to stop a step or about a sign that they can't walk."""
    said: list[Rendered] = []
    for template in variants_of(loc, "step/stop"):
        said.append(one(loc, template, can_walk=False))
    for template in variants_of(loc, "safety/red_flag"):
        said += [one(loc, template, State(step=1), flag=f, urgency=SIGNS[f])
                 for f in CANNOT_WALK]
    for template in variants_of(loc, "safety/stop/stop"):
        said.append(one(loc, template))
    assert CANNOT_WALK and said
    for r in said:
        assert "walk home" not in r.text.lower(), f"{r.where}: {r.text!r}"
        assert not _tells_to_walk(r.text), f"{r.where}: {r.text!r}"


@pytest.mark.parametrize("loc", ENGLISH)
def test_someone_who_can_walk_is_told_to_walk_home(loc: str) -> None:
    """The same step for someone who can walk gives the article's advice (the check above can
    fail)."""
    r = one(loc, Template("step/stop", "", "ssml"), can_walk=True)
    assert "walk home" in r.text.lower() and _tells_to_walk(r.text)


@pytest.mark.parametrize("loc", ENGLISH)
def test_the_guide_and_help_offer_the_ways_to_move(loc: str) -> None:
    """The first-timer's guide and the help at a step name what can be said there."""
    guide = one(loc, Template("open/guide", "", "ssml"), State(step=1)).text.lower()
    assert "repeat" in guide and "go back" in guide
    for template in variants_of(loc, "help/here"):
        if template.variant == "car":
            continue  # a driver is offered only what is safe at the wheel
        text = one(loc, template, State(step=2)).text.lower()
        for phrase in ("next", "repeat", "go back", "tell me more", "it hurts more"):
            assert phrase in text, f"{template.name} lacks {phrase!r}: {text!r}"


@pytest.mark.parametrize("loc", ENGLISH)
def test_the_step_card_is_titled_with_number_and_name(loc: str) -> None:
    """The card's title is "Step 1 of 8: Stop and get safe"; its body the instruction."""
    text = one(loc, Template("card/step", "", "txt"), State(step=1), number=1,
               instruction="Stop running.").text
    title, _, body = text.partition("\n")
    assert title == f"Step 1 of {TOTAL}: Stop and get safe"
    assert body.strip() == "Stop running."


# The caregiver's phrasing (`@helper` variants): it speaks to someone helping the runner.

THEM = re.compile(r"\b(they|them|their|they're|they've|theirs)\b", re.IGNORECASE)
# The runner's own body, addressed as "your": what a helper must never be told to do.
YOUR_BODY = re.compile(
    r"\byour (leg|legs|toes|knee|calf|muscle|muscles|pain|cramp|runs?|running|skin)\b",
    re.IGNORECASE,
)
# Sentences that, as the first words, instruct the listener to act on their own leg.
RUNNER_IMPERATIVES = (
    "stop running", "straighten", "pull your", "drink", "rest the", "take it as", "take them",
    "run again", "soak", "walk home", "sit down", "step off", "ease off", "keep resting",
)
# Seed facts, as the original templates phrase them (compared case-insensitively): whatever
# the runner hears, the helper hears too. A tuple: the runner's phrase, then the ways a
# helper's wording says the same fact.
SEED_PHRASES: list[str | tuple[str, ...]] = [
    "15 to 20 minutes", "15 minute", "bare skin", "every hour", "once an hour", "hourly",
    "completely gone", "pain is gone", "cold compress", "blood flow", "bruising",
    "further damage", "ibuprofen", "naproxen", "as the label says", "non-steroidal",
    "anti-inflammator", "over-the-counter", ("see a doctor", "to a doctor"), "muscle injury",
    "professional treatment", "several days", "other muscle groups", "fully recovered",
    "health professional", "diabetes or thyroid disease", "endurance training or plyometrics",
    "conditioning", "before, during and after", "rehydration", "dehydration",
    ("sweating", "sweated"), "heating pad", "hot shower", "very warm", "gentle pressure",
    "stop the massage", "pain increases", "calf cramps", "most common", "most often",
    "toes up toward", "back toward", "straighten", "walk home", "treadmill", "sit down",
    "stop running",
    # The helper gets them somewhere safe to rest; the stretch is the next step's business.
    ("rest and stretch", "rest somewhere safe"),
    "fall", "serious injury", "medical attention", "call 911", "call 999", "call 000",
    "call 112", "can't make calls", "not a substitute for professional medical advice",
    "not a doctor", "overuse", "strain", "warm-up", "cramp has passed", "primary cramp",
    "getting worse", "skip the massage", "no massage",
]
# Stops addressed to whoever's hands are on the leg: the helper may be the one massaging
# (step/massage@helper: "massage ..., or have them do it").
EITHER_HANDS = frozenset({"safety/stop/massage"})


def helpers(loc: str) -> list[Template]:
    return [t for t in templates(loc) if t.variant == "helper"]


def _pairs(loc: str, template: Template) -> list[tuple[Rendered, Rendered]]:
    """The original and the helper variant, rendered in the same states with the same args."""
    originals = {(r.state, repr(r.args)): r for r in renders(loc, template.original)}
    return [(originals[(r.state, repr(r.args))], r) for r in renders(loc, template)
            if (r.state, repr(r.args)) in originals]


@pytest.mark.parametrize("loc", ENGLISH)
def test_helper_steps_and_questions_are_about_the_other_person(loc: str) -> None:
    """Each instruction, pain question and stop is about them: their leg, their pain."""
    problems = [f"{r.where}: {r.text!r}" for template in helpers(loc)
                if template.key.startswith(("step/", "gate/", "safety/stop/"))
                and template.key not in EITHER_HANDS
                for r in renders(loc, template) if not THEM.search(r.text)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("loc", ENGLISH)
def test_helper_variant_gives_no_instruction_for_the_listeners_own_leg(loc: str) -> None:
    """No "your leg", and no sentence opening with an order meant for the runner's body."""
    problems: list[str] = []
    for template in helpers(loc):
        for r in renders(loc, template):
            if YOUR_BODY.search(r.text):
                problems.append(f"{r.where}: {r.text!r}")
            for sentence in re.split(r"[.:;?!]\s*", r.text):
                if sentence.strip().lower().startswith(RUNNER_IMPERATIVES):
                    problems.append(f"{r.where}: {sentence!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("loc", ENGLISH)
def test_helper_variant_keeps_every_fact_of_its_original(loc: str) -> None:
    """Whatever seed fact the runner hears in a state, the helper hears in the same state."""
    problems: list[str] = []
    for template in helpers(loc):
        for original, helper in _pairs(loc, template):
            said, heard = original.text.lower(), helper.text.lower()
            lost = [phrases for phrases in map(_alternatives, SEED_PHRASES)
                    if phrases[0] in said and not any(p in heard for p in phrases)]
            if lost:
                problems.append(f"{helper.where} lost {lost}: {helper.text!r}")
    assert not problems, "\n".join(problems)


def _alternatives(phrase: str | tuple[str, ...]) -> tuple[str, ...]:
    return (phrase,) if isinstance(phrase, str) else phrase


@pytest.mark.parametrize("loc", ENGLISH)
@pytest.mark.parametrize("variant", ["", "helper"])
def test_overview_names_all_the_steps_in_order_in_one_breath(loc: str, variant: str) -> None:
    """"Tell me all the steps": every step, in order, in about thirty seconds at most."""
    r = one(loc, Template("info/overview", variant, "ssml"), State())
    text = r.text.lower()
    assert f"{TOTAL} steps" in text
    named = ["stop", "stretch", "massage", "cold compress", "heat", "water", "medicine", "rest"]
    positions = [text.find(word) for word in named]
    assert -1 not in positions and positions == sorted(positions), positions
    assert words(text) <= 75


def test_the_english_locales_are_checked() -> None:
    """The English checks above run (a renamed model would silently skip them)."""
    assert "en-US" in ENGLISH and all(english(loc) for loc in ENGLISH)
    assert {t.key for t in templates("en-US")} >= set(FACTS) | set(EMERGENCY)
    assert helpers("en-US") and all(t.key in FACTS for t in templates("en-US")
                                    if t.key.startswith(("step/", "more/")) and not t.variant
                                    and t.key != "step/header")

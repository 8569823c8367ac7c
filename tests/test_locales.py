"""The English locales: generated from en-US, published, and spoken with the local number; every
locale (marker every_country) speaks its own emergency number."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from skill.permissions import TIMERS_SCOPE
from skill.routine import Urgency, load_routine
from tests.conftest import MAIN_LOCALES, OUTCOMES, FakeClock, new_device
from tests.wording_checks import facts, language_of, spoken_number
from tooling.build.locales import (
    COMMAND,
    OVERRIDES_FILE,
    ROUTINE_FILE,
    SOURCE_LOCALE,
    LocaleError,
    all_locales,
    country_of,
    emergency_numbers,
    generate_model,
    load_overrides,
    main,
    parse_overrides,
    respeller,
    stale_files,
    write,
)
from tooling.build.publishing import (
    MANIFEST_FILE,
    MODELS_DIR,
    PROJECT_ROOT,
    manifest_locales,
    model_files,
    validate_project,
)
from tooling.standins.alexa import Alexa, Reply, Send
from tooling.standins.nlu import Understanding
from tooling.standins.nlu import language_of as spoken_language

# The `locale` fixture (tests/conftest.py) runs each test that takes it in every locale with a
# model; the conversations assert what the skill chose, and the local emergency number.
pytestmark = pytest.mark.every_country

LOCALES = sorted(model_files(PROJECT_ROOT))  # every locale with a model
ENGLISH = all_locales()  # en-US and the English locales generated from it
OVERRIDES = load_overrides()
NUMBERS = emergency_numbers()
ROUTINE = load_routine()
FALLBACK = "AMAZON.FallbackIntent"
START = "StartRoutineIntent"
RED_FLAG = "RedFlagIntent"
MAX_TURNS = 40  # a routine of eight steps with its questions takes about a dozen


def number_of(locale: str) -> str:
    return NUMBERS[country_of(locale)]


def numbers_in(text: str) -> set[str]:
    """Every emergency number of the locales that the text says: in SSML, as the number said
    (tests/wording_checks.py spoken_number: 15 is also minutes of cold, said as a number); in
    plain text, as a whole number."""
    if text.lstrip().startswith("<speak>"):
        return {n for n in map(number_of, LOCALES) if spoken_number(n).search(text)}
    return {n for n in map(number_of, LOCALES) if re.search(rf"(?<!\d){n}(?!\d)", text)}


def model_of(locale: str) -> dict[str, Any]:
    """The locale's committed model, not to be changed (parsed once a version of the file, as
    tooling/standins/nlu.py's models are: a routine asks for its shortest "next" every turn)."""
    path = model_files(PROJECT_ROOT)[locale]
    stat = path.stat()
    return _parsed(path, stat.st_mtime_ns, stat.st_size)


@functools.cache
def _parsed(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    model: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return model


def shortest_sample(locale: str, intent: str) -> str:
    """The locale's own shortest way to say an intent without a slot ("next", "weiter")."""
    intents = model_of(locale)["interactionModel"]["languageModel"]["intents"]
    samples = next(i for i in intents if i["name"] == intent)["samples"]
    return str(min((s for s in samples if "{" not in s), key=lambda s: (len(s), s)))


def opening(locale: str, understanding: Understanding) -> str:
    """"open cramp coach", as the locale's language says it ("öffne cramp coach")."""
    return f"{spoken_language(locale).launch[0]} {understanding.invocation}"


def one_shot(locale: str, understanding: Understanding, request: str) -> str:
    """"tell cramp coach <request>", as the locale's language says it."""
    return spoken_language(locale).one_shot.format(name=understanding.invocation,
                                                   request=request)


def source_model() -> dict[str, Any]:
    model: dict[str, Any] = json.loads(
        (PROJECT_ROOT / MODELS_DIR / f"{SOURCE_LOCALE}.json").read_text(encoding="utf-8"))
    return model


def red_flag_values(locale: str) -> dict[str, list[str]]:
    """{red flag id: what a user may say for it} in the locale's committed model."""
    types = model_of(locale)["interactionModel"]["languageModel"]["types"]
    values = next(t["values"] for t in types if t["name"] == "RED_FLAG")
    return {v["id"]: [v["name"]["value"], *v["name"].get("synonyms", [])] for v in values}


def red_flag_carriers(locale: str) -> list[str]:
    """The locale's RedFlagIntent samples whose only slot is the sign ("I {symptom}",
    "it's {symptom}"...): a value is a fragment ("can't stand", "severe pain") that people say
    inside a sentence, and the model has no bare "{symptom}" sample, so that "stand up" or
    "red" alone is never taken for an emergency."""
    intents = model_of(locale)["interactionModel"]["languageModel"]["intents"]
    samples = next(i["samples"] for i in intents if i["name"] == RED_FLAG)
    return [s for s in samples if re.fullmatch(r"[^{}]*\{symptom\}[^{}]*", s)]


def heard_as(understanding: Understanding, words: str, flag: str) -> bool:
    heard = understanding.understand(words)
    symptom = heard.slots.get("symptom") if heard.intent == RED_FLAG else None
    return symptom is not None and symptom.resolved_id == flag


def urgent_flags() -> list[str]:
    return sorted(sign_id for sign_id, sign in ROUTINE.signs.items()
                  if sign.urgency is Urgency.URGENT)


def say(alexa: Alexa, understanding: Understanding, words: str) -> tuple[str | None, Reply]:
    """What the user says, understood by the locale's model and sent to the Lambda entry point."""
    heard = understanding.understand(words)
    if heard.kind == "launch":
        return None, alexa.launch()
    assert heard.intent is not None, words
    if heard.one_shot and alexa.in_session:
        alexa.end_session("USER_INITIATED")
    return heard.intent, alexa.intent(heard.intent, heard.slots)


def locale_start_sample(locale: str) -> str:
    """A way to start that this locale adds, or its model's (en-US's for the English ones)
    first when it adds none."""
    override = OVERRIDES.get(locale)
    added = override.add.get(START, ()) if override else ()
    if added:
        return added[0]
    model = source_model() if locale in ENGLISH else model_of(locale)
    intents = model["interactionModel"]["languageModel"]["intents"]
    first: str = next(i for i in intents if i["name"] == START)["samples"][0]
    return first


def locale_red_flag_phrase(locale: str) -> tuple[str, str]:
    """(flag id, phrase) for an urgent red flag, preferring a synonym only this locale has."""
    override = OVERRIDES.get(locale)
    local = override.synonyms.get("RED_FLAG", {}) if override else {}
    for flag in urgent_flags():
        if local.get(flag):
            return flag, local[flag][0]
    values = red_flag_values(locale)  # a sign the model lacks fails the test above, not this
    flag = next(flag for flag in urgent_flags() if values.get(flag))
    return flag, values[flag][0]


# --- the generated files --------------------------------------------------------------------


def test_committed_locale_files_match_the_generator() -> None:
    """Every generated model and skill.json entry is what en-US plus the overrides make now."""
    stale = stale_files()
    assert not stale, (f"out of date with {MODELS_DIR}/{SOURCE_LOCALE}.json or "
                       f"{OVERRIDES_FILE}: {', '.join(stale)}. Run: {COMMAND}")


def test_every_locale_has_a_model_and_manifest_entries() -> None:
    """The five English locales are generated from en-US; the other languages' models are
    written by hand; every locale with a model is published, and no other is."""
    assert set(ENGLISH) == {"en-US", "en-GB", "en-CA", "en-AU", "en-IN"}
    assert set(ENGLISH) <= set(LOCALES)
    assert not [loc for loc in LOCALES if loc not in ENGLISH and loc.startswith("en-")]
    manifest = json.loads((PROJECT_ROOT / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert set(manifest_locales(manifest)) == set(LOCALES)
    assert set(model_files(PROJECT_ROOT)) == set(LOCALES)
    body = manifest["manifest"]
    assert set(body["privacyAndCompliance"]["locales"]) == set(LOCALES)
    countries = body["publishingInformation"]["distributionCountries"]
    assert {country_of(locale) for locale in LOCALES} <= set(countries)


@pytest.mark.long
def test_publishing_checks_pass_for_every_locale() -> None:
    """validate_project() finds nothing wrong with skill.json and every model."""
    assert validate_project() == []


def test_description_names_the_local_emergency_number_only(locale: str) -> None:
    """Each locale's store description has the disclaimer and its own emergency number alone."""
    manifest = json.loads((PROJECT_ROOT / MANIFEST_FILE).read_text(encoding="utf-8"))
    description = manifest["manifest"]["publishingInformation"]["locales"][locale]["description"]
    assert numbers_in(description) == {number_of(locale)}
    # The disclaimer, in the language's words (tests/facts/<language>.json help/disclaimer).
    disclaimer = facts(language_of(locale))["help/disclaimer"][1]
    assert all(phrase.lower() in description.lower() for phrase in disclaimer), disclaimer


# Not named `locale`: only the generated locales have overrides.
@pytest.mark.parametrize("generated", list(OVERRIDES))
def test_locale_samples_resolve_to_their_intents(generated: str) -> None:
    """What a locale adds is understood in its model, as the intent or red flag it was added to."""
    understanding = Understanding.for_locale(generated)
    override = OVERRIDES[generated]
    for intent, samples in override.add.items():
        for sample in samples:
            assert understanding.understand(sample).intent == intent, sample
    for flag, synonyms in override.synonyms.get("RED_FLAG", {}).items():
        for synonym in synonyms:
            heard = understanding.understand(synonym)
            assert heard.intent == RED_FLAG and heard.slots["symptom"].resolved_id == flag


# --- each locale through the Lambda entry point ---------------------------------------------


def test_full_routine_in_each_locale(make_alexa: Callable[..., Alexa], locale: str) -> None:
    """Launch to wrap-up by the locale's words: the disclaimer with the local number at launch,
    every step's instruction in order, the wrap-up, and cards without another locale's spelling."""
    understanding = Understanding.for_locale(locale)
    alexa = make_alexa(locale=locale)
    _, reply = say(alexa, understanding, opening(locale, understanding))
    assert reply.outcome.lines[0].key == "open/welcome" and reply.outcome.lines[0].args[
        "first_time"]
    assert numbers_in(reply.speech) == {number_of(locale)}
    replies = [reply]
    while not reply.ends_session and len(replies) < MAX_TURNS:
        # "No" to the pain question before the massage, "next" to everything else.
        answer = shortest_sample(locale, "AMAZON.NoIntent" if reply.state["pending"] ==
                                 "pain_gate" else "AMAZON.NextIntent")
        intent, reply = say(alexa, understanding, answer)
        assert intent != FALLBACK, answer
        replies.append(reply)
    assert reply.ends_session, "the routine never finished"
    assert reply.keys[-1] == "finish/wrap_up"
    steps = [r.state["step"] for r in replies[:-1]]
    assert steps == sorted(steps) and set(steps) == set(range(1, ROUTINE.total + 1))
    said = [key for r in replies for key in r.keys if key.startswith("step/")]
    assert [k for k in said if k != "step/header"] == [f"step/{s.id}" for s in ROUTINE.steps]

    # The checklist card too, then no US-only spelling on any card this locale showed.
    _, checklist = say(alexa, understanding, one_shot(
        locale, understanding, shortest_sample(locale, "ChecklistIntent")))
    cards = [r.card for r in [*replies, checklist] if r.card]
    assert checklist.card and len(cards) > ROUTINE.total
    spelling = OVERRIDES[locale].spelling if locale in OVERRIDES else {}
    for card in cards:
        words = set(re.findall(r"[a-z]+", f"{card['title']} {card['content']}".lower()))
        assert not words & set(spelling), (f"{locale} card shows {sorted(words & set(spelling))};"
                                           f" add an override under skill/templates/{locale}/")


@pytest.mark.parametrize("flag", urgent_flags())
def test_red_flag_gives_the_local_emergency_number(
    make_alexa: Callable[..., Alexa], locale: str, flag: str
) -> None:
    """Every way a language's main model has to say an urgent warning sign, in a sentence of
    its own samples, is heard as that sign, answered as urgent, with the locale's own emergency
    number; in a country's other locales (en-GB, es-US), the sign said its first way (what
    they change is the number, checked here, and the phrases they add, checked above)."""
    understanding = Understanding.for_locale(locale)
    phrases = red_flag_values(locale).get(flag)
    assert phrases, f"the {locale} model has no RED_FLAG value {flag!r}"
    if locale not in MAIN_LOCALES:
        phrases = phrases[:1]
    carriers = red_flag_carriers(locale)
    for value in phrases:
        phrase = next((c.format(symptom=value) for c in carriers
                       if heard_as(understanding, c.format(symptom=value), flag)), value)
        alexa = make_alexa(locale=locale)
        say(alexa, understanding, opening(locale, understanding))
        intent, reply = say(alexa, understanding, phrase)
        assert intent == RED_FLAG, phrase
        signs = [line.args for line in reply.outcome.lines if line.key == "safety/red_flag"]
        assert signs == [{"flag": flag, "urgency": "urgent"}], phrase
        assert reply.state["injured"] and not reply.ends_session, phrase
        assert numbers_in(reply.speech) == {number_of(locale)}, phrase


# The console runs as a process (seconds each): in each language's main locale and in each
# locale that adds phrases of its own (the generated English ones).
CONSOLE_LOCALES = sorted({*MAIN_LOCALES, *OVERRIDES})


@pytest.mark.parametrize("console_locale", CONSOLE_LOCALES)
def test_console_understands_the_locale(send: Send, clock: FakeClock, console_locale: str,
                                        tmp_path: Path) -> None:
    """`cramp-coach chat --locale` hears the locale's own phrases and says what the Lambda says."""
    locale = console_locale

    def make_alexa(locale: str) -> Alexa:
        return Alexa(send, locale=locale, device=new_device(), clock=clock,
                     outcome_of=OUTCOMES.pop)

    understanding = Understanding.for_locale(locale)
    _, red_flag = locale_red_flag_phrase(locale)
    script = [one_shot(locale, understanding, locale_start_sample(locale)), red_flag]
    env = {**os.environ, "CRAMP_COACH_DB": str(tmp_path / "memory.sqlite3")}
    done = subprocess.run(
        [sys.executable, "-m", "tooling.console.cli", "chat", "--locale", locale],
        input="".join(line + "\n" for line in script), capture_output=True, text=True,
        timeout=60, check=True, cwd=PROJECT_ROOT, env=env)
    console = alexas_words(done.stdout)

    alexa = make_alexa(locale=locale)
    expected = []
    for line in script:
        intent, reply = say(alexa, understanding, line)
        assert intent not in (None, FALLBACK), line
        expected.append(" ".join(reply.speech.split()))
    assert console == expected
    assert numbers_in(console[-1]) == {number_of(locale)}


def alexas_words(transcript: str) -> list[str]:
    """What Alexa said in each turn of a piped console transcript: the "Alexa: " line and the
    lines wrapped under it (indented to the label's width), joined again."""
    label = "Alexa: "
    said: list[str] = []
    inside = False  # the lines since the last label are Alexa's
    for line in transcript.splitlines():
        if line.startswith(label):
            said.append(line.removeprefix(label))
            inside = True
        elif inside and line.startswith(" " * len(label)) and not line[len(label)].isspace():
            said[-1] += " " + line.strip()
        else:
            inside = False
    return [" ".join(words.split()) for words in said]


# --- the generator on a copy of the project -------------------------------------------------


def copy_project(root: Path) -> Path:
    """The files the generator reads and writes, copied into `root`."""
    models = [path.relative_to(PROJECT_ROOT) for path in model_files(PROJECT_ROOT).values()]
    relatives: list[Path | str] = [MANIFEST_FILE, OVERRIDES_FILE, ROUTINE_FILE, *models]
    for relative in relatives:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PROJECT_ROOT / relative, root / relative)
    return root


def edit_json(path: Path, edit: Callable[[Any], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def intent_of(model: dict[str, Any], name: str) -> dict[str, Any]:
    intent: dict[str, Any] = next(i for i in model["interactionModel"]["languageModel"]["intents"]
                                  if i["name"] == name)
    return intent


def test_edit_to_en_us_fails_the_check_until_regenerated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sample added to en-US alone makes every other model stale, named with the command."""
    root = copy_project(tmp_path)
    # "favorite" also shows the locales' spelling maps at work.
    sample = "show me my favorite stretch"
    edit_json(root / MODELS_DIR / "en-US.json",
              lambda m: intent_of(m, "MoreDetailIntent")["samples"].append(sample))
    generated = [f"{MODELS_DIR}/{locale}.json" for locale in OVERRIDES]
    assert stale_files(root) == generated
    assert main(["--check", "--root", str(root)]) == 1
    assert COMMAND in capsys.readouterr().out

    assert main(["--root", str(root)]) == 0
    assert stale_files(root) == []
    for locale, override in OVERRIDES.items():
        model = json.loads((root / MODELS_DIR / f"{locale}.json").read_text(encoding="utf-8"))
        assert respeller(override.spelling)(sample) in intent_of(model, "MoreDetailIntent")[
            "samples"]


def test_hand_edit_of_a_generated_model_is_stale(tmp_path: Path) -> None:
    """Editing en-GB.json by hand is drift: the check names it and the generator undoes it."""
    root = copy_project(tmp_path)
    path = root / MODELS_DIR / "en-GB.json"
    before = path.read_text(encoding="utf-8")
    edit_json(path, lambda m: intent_of(m, START)["samples"].append("crikey a cramp"))
    assert stale_files(root) == [f"{MODELS_DIR}/en-GB.json"]
    write(root)
    assert path.read_text(encoding="utf-8") == before


def test_manifest_regeneration_keeps_everything_else(tmp_path: Path) -> None:
    """A new en-US summary reaches every English locale, and no other language's (written by
    hand); permissions and layout elsewhere are kept."""
    root = copy_project(tmp_path)
    permissions = [{"name": TIMERS_SCOPE}]

    def edit(manifest: Any) -> None:
        manifest["manifest"]["permissions"] = permissions
        manifest["manifest"]["publishingInformation"]["locales"]["en-US"]["summary"] = "New."

    edit_json(root / MANIFEST_FILE, edit)
    assert stale_files(root) == [MANIFEST_FILE]
    write(root)
    body = json.loads((root / MANIFEST_FILE).read_text(encoding="utf-8"))["manifest"]
    assert body["permissions"] == permissions
    summaries = {locale: info["summary"]
                 for locale, info in body["publishingInformation"]["locales"].items()}
    assert {summaries[locale] for locale in ENGLISH} == {"New."}
    assert "New." not in {s for locale, s in summaries.items() if locale not in ENGLISH}
    assert write(root) == []  # nothing left to write: skill.json is not rewritten for nothing


def test_en_us_description_must_name_its_number(tmp_path: Path) -> None:
    """Without en-US's number in its description, the generator cannot localise it, and says so."""
    root = copy_project(tmp_path)
    us = number_of(SOURCE_LOCALE)

    def edit(manifest: Any) -> None:
        info = manifest["manifest"]["publishingInformation"]["locales"][SOURCE_LOCALE]
        info["description"] = info["description"].replace(us, "your local number")

    edit_json(root / MANIFEST_FILE, edit)
    with pytest.raises(LocaleError, match="must name its emergency number"):
        stale_files(root)


OverrideEdit = Callable[[dict[str, Any]], None]


def _gb(edit: Callable[[dict[str, Any]], None]) -> OverrideEdit:
    return lambda data: edit(data["locales"].setdefault("en-GB", {}))


def _gb_intent(name: str, **edits: Any) -> OverrideEdit:
    return _gb(lambda gb: gb.setdefault("intents", {}).__setitem__(name, edits))


OVERRIDE_BREAKAGES: list[tuple[str, str, OverrideEdit]] = [
    ("unknown key", "unknown key 'sampels'", _gb(lambda gb: gb.__setitem__("sampels", []))),
    ("unknown spelling set", "is not one of the 'spellings'",
     _gb(lambda gb: gb.__setitem__("spelling", "martian"))),
    ("intent en-US lacks", "which en-US no longer has", _gb_intent("NoSuchIntent", add=["hi"])),
    ("sample en-US already has", "en-US already has", _gb_intent(START, add=["I have a cramp"])),
    ("sample of another intent", "is in both", _gb_intent(START, add=["next"])),
    ("sample Alexa refuses", "does not allow", _gb_intent(START, add=["cramp!"])),
    ("replace a sample en-US lacks", "en-US has no sample",
     _gb_intent(START, replace={"I have a cramp now": "I've cramp"})),
    ("synonym for a value id en-US lacks", "no value id",
     _gb(lambda gb: gb.__setitem__("slot_values", {"RED_FLAG": {"nosebleed": ["a nosebleed"]}}))),
    ("example phrase en-US lacks", "no example phrase",
     _gb(lambda gb: gb.__setitem__("example_phrases", {"Alexa, open it": "Alexa, open it"}))),
    ("add not a list", "must be a list of strings", _gb_intent(START, add="I've cramp")),
]


@pytest.mark.parametrize(("expect", "edit"), [(e, f) for _, e, f in OVERRIDE_BREAKAGES],
                         ids=[name for name, _, _ in OVERRIDE_BREAKAGES])
def test_broken_override_is_refused_with_the_reason(
    tmp_path: Path, expect: str, edit: OverrideEdit
) -> None:
    """An override that no longer fits en-US, or breaks a rule, stops generation and says why."""
    root = copy_project(tmp_path)
    edit_json(root / OVERRIDES_FILE, edit)
    with pytest.raises(LocaleError, match=re.escape(expect)):
        write(root)
    assert stale_files(PROJECT_ROOT) == []  # nothing was written to the real checkout


def test_every_override_applies_to_the_current_en_us() -> None:
    """Each locale's override fits today's en-US (a stale override would raise here)."""
    source = source_model()
    for override in OVERRIDES.values():
        assert generate_model(source, override)["interactionModel"]


def test_respelling_keeps_case_and_whole_words() -> None:
    """The spelling map swaps whole words only, keeping a capital or all capitals."""
    spell = respeller({"color": "colour", "gray": "grey"})
    assert spell("Color, GRAY, colorful, gray") == "Colour, GREY, colorful, grey"


def test_overrides_file_must_name_locales() -> None:
    """An overrides file without locales is refused rather than generating nothing."""
    with pytest.raises(LocaleError, match="'locales' must be a non-empty object"):
        parse_overrides(copy.deepcopy({"spellings": {}}))

"""Publishing checks for skill.json and the interaction models.

Every check is a plain function that returns a list of human-readable problems; an empty list
means valid. ask-smapi-model deserializes the files first, but it accepts unknown keys, missing
fields and even a string where a list belongs (PLATFORM.md trap 8), so the project's own checks
below read the raw JSON and cover Amazon's rules that the library lets through.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import math
import modulefinder
import re
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ask_sdk_model_runtime.serializer import DefaultSerializer
from ask_smapi_model.v1.skill.interaction_model import InteractionModelData
from ask_smapi_model.v1.skill.manifest import Interface, InterfaceType, SkillManifestEnvelope

from skill.permissions import TIMERS_SCOPE
from skill.tasks import TASK_NAME, TASK_VERSION
from tooling.standins.nlu import normalize, normalize_sample

# The permission skill.json must declare when the skill sets timers (one name for the scope).
TIMERS_PERMISSION = TIMERS_SCOPE

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_FILE = "skill.json"
MODELS_DIR = "interaction_models"
TEMPLATES_DIR = Path("skill") / "templates"
PACKAGE_DIR = "skill"
LAMBDA_ENTRY = Path("lambda") / "lambda_function.py"
TASKS_DIR = "tasks"  # custom task definitions, copied into the skill package as they are

APL_INTERFACE = "ALEXA_PRESENTATION_APL"
CAN_FULFILL_INTERFACE = "CAN_FULFILL_INTENT_REQUEST"

# Amazon's rules for a custom task ("Implement Custom Tasks in Your Skill"): a file
# tasks/<Name>.<Version>.json per task, OpenAPI 3, one path /<Name> with POST only,
# application/json bodies only, references inside the file only, a positive whole version.
TASK_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9]*")
TASK_VERSION_PATTERN = re.compile(r"[1-9][0-9]*")
TASK_ACCESS_SCOPES = frozenset({"public", "vendor-private"})
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
JSON_MEDIA = "application/json"

REQUIRED_INTENTS = (
    "AMAZON.CancelIntent",
    "AMAZON.HelpIntent",
    "AMAZON.StopIntent",
    "AMAZON.NavigateHomeIntent",
    "AMAZON.FallbackIntent",
)

# Amazon's invocation-name rules ("Choose the Invocation Name for a Custom Skill").
WAKE_WORDS = frozenset({"alexa", "amazon", "echo", "computer"})
LAUNCH_WORDS = frozenset(
    {"ask", "begin", "enable", "launch", "load", "open", "play", "resume", "run", "start",
     "tell", "use"}
)
ARTICLES_AND_PREPOSITIONS = frozenset(
    {"a", "an", "the", "about", "at", "by", "for", "from", "in", "into", "of", "off", "on",
     "onto", "to", "with", "my"}
)
# How an example phrase may open the skill: "Alexa, <launch phrase> <invocation name> ...",
# per language (Alexa's documented launch phrases in each).
EXAMPLE_LAUNCH_PHRASES: dict[str, tuple[str, ...]] = {
    "en": ("ask", "begin", "launch", "load", "open", "play", "resume", "run", "start",
           "talk to", "tell", "use"),
    "de": ("öffne", "starte", "frag", "frage", "sag", "sage", "bitte", "spiele", "lade"),
    "es": ("abre", "inicia", "empieza", "pide a", "pregunta a", "dile a", "pídele a"),
    "fr": ("ouvre", "lance", "démarre", "demande à", "dis à"),
    "it": ("apri", "avvia", "chiedi a", "di' a", "dì a", "di a"),
    "pt": ("abra", "abre", "inicie", "comece", "peça ao", "peça para o", "pergunte ao",
           "diga ao", "fale com"),
}
# Words Alexa lets stand between the invocation name and the utterance ("ask X to ...").
CONNECTING_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("and then", "to", "for", "about", "that", "if", "whether", "and"),
    "de": ("und dann", "und", "ob", "dass", "nach", "wegen", "zu", "um", "für"),
    "es": ("y luego", "y", "que", "si", "sobre", "por", "para"),
    "fr": ("et puis", "et", "de", "d'", "si", "que", "pour"),
    "it": ("e poi", "e", "di", "se", "che", "per"),
    "pt": ("e depois", "e", "que", "se", "para", "sobre"),
}

# A sample whose slots can take more combinations of custom values than this is compared with
# the other intents' samples without slots only (listing the product would take too long).
MAX_EXPANSIONS = 3_000

# Limits from the developer console: it refuses longer samples and slot values.
MAX_SAMPLE_CHARS = 200
MAX_SLOT_VALUE_CHARS = 140
MAX_EXAMPLE_PHRASES = 3
# Publishing information limits (skill name, one-line summary, full description).
MAX_NAME_CHARS = 50
MAX_SUMMARY_CHARS = 160
MAX_DESCRIPTION_CHARS = 4000
# The medical disclaimer every store description carries, per language (lower case): a
# language not listed here fails the check until its phrases are added.
DISCLAIMER_PHRASES: dict[str, tuple[str, ...]] = {
    "en": ("not a substitute for professional medical advice", "emergency"),
    "de": ("kein ersatz für eine ärztliche beratung", "notfall"),
    "es": ("no sustituye el consejo médico profesional", "emergencia"),
    "fr": ("ne remplace pas l'avis d'un professionnel de", "urgence"),
    "it": ("non sostituisce il parere di un medico professionista", "emergenza"),
    "pt": ("não substitui a orientação de um profissional de saúde", "emergência"),
}
PRIVACY_FLAGS = ("allowsPurchases", "usesPersonalInfo", "isChildDirected", "isExportCompliant",
                 "containsAds")

# Built-in slot types (not exhaustive: add a name here when a model needs one Amazon added).
_BUILT_IN_SLOT_TYPE_NAMES = (
    "DATE DURATION FOUR_DIGIT_NUMBER NUMBER Ordinal PhoneNumber TIME SearchQuery "
    "Actor AdministrativeArea AggregateRating Airline Airport Anaphor Animal Artist Athlete "
    "Author Book BookSeries BroadcastChannel City CivicStructure Color Comic Corporation "
    "Country CreativeWorkType DayOfWeek Dessert DeviceType Director Drink "
    "EducationalOrganization EventType Festival FictionalCharacter FinancialService "
    "FirstName Food FoodEstablishment Game Genre Landform LandmarksOrHistoricalBuildings "
    "Language LocalBusiness LocalBusinessType MedicalOrganization Month Movie MovieSeries "
    "MovieTheater MusicAlbum MusicCreativeWorkType MusicEvent MusicGroup Musician "
    "MusicPlaylist MusicRecording MusicVenue MusicVideo Organization Person PostalAddress "
    "Professional ProfessionalType RadioChannel RelativePosition Residence Room "
    "ScreeningEvent Service SocialMediaPlatform SoftwareApplication SoftwareGame Sport "
    "SportsEvent SportsTeam StreetAddress StreetName TelevisionChannel TVEpisode TVSeason "
    "TVSeries VideoGame VisualModeTrigger WeatherCondition WrittenCreativeWork "
    "AT_CITY AT_REGION DE_CITY DE_FIRST_NAME DE_REGION EUROPE_CITY GB_CITY GB_FIRST_NAME "
    "GB_REGION US_CITY US_FIRST_NAME US_STATE"
)
AMAZON_SLOT_TYPES = frozenset("AMAZON." + name for name in _BUILT_IN_SLOT_TYPE_NAMES.split())

LOCALE_PATTERN = re.compile(r"[a-z]{2}-[A-Z]{2}")
SLOT_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z_]*")
SLOT_REFERENCE = re.compile(r"\{([^{}]*)\}")
APOSTROPHES = "'\u2019"

_serializer = DefaultSerializer()


@dataclass(frozen=True)
class Features:
    """What the skill's code uses that skill.json must declare."""

    uses_timers: bool
    uses_apl: bool
    uses_launch_task: bool = False  # a timer's end launches the skill's task
    uses_can_fulfill: bool = False  # answers CanFulfillIntentRequest (name-free starts)


# --- helpers ------------------------------------------------------------------------------


def _normalize(text: str) -> str:
    """Lower-case and collapse whitespace, the way Alexa compares samples."""
    return " ".join(text.lower().split())


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _language_model(model: Any) -> dict[str, Any]:
    return _dict(_dict(_dict(model).get("interactionModel")).get("languageModel"))


def _intents(model: Any) -> list[dict[str, Any]]:
    return [intent for intent in _list(_language_model(model).get("intents"))
            if isinstance(intent, dict)]


def _strings(value: Any) -> list[str]:
    return [item for item in _list(value) if isinstance(item, str)]


def _deserialize(data: Any, cls: type, what: str) -> list[str]:
    problem = _deserialization_problem(data, cls)
    return [f"{what}: {problem}"] if problem else []


def _deserialization_problem(data: Any, cls: type) -> str | None:
    try:
        _serializer.deserialize(json.dumps(data), cls)
    except Exception as exc:  # the library raises SerializationException or anything inside it
        return f"does not deserialize as {cls.__name__}: {exc}"
    return None


ANY_WORDS = r"\S.*?"
# What a user can say for the number-like built-in types. Without these, a sample that is a bare
# slot ("{minutes}") would match any example phrase at all and make that check vacuous.
_NUMBER_WORD = (r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|"
                r"forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|a)")
_NUMBER = rf"(?:\d+|{_NUMBER_WORD}(?:[ -](?:and )?{_NUMBER_WORD})*)"
_ORDINAL = (r"(?:\d+(?:st|nd|rd|th)|(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|"
            r"ninety)[ -])?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|"
            r"eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|"
            r"eighteenth|nineteenth|twentieth|thirtieth|last))")
_DURATION_PART = (rf"(?:{_NUMBER}|an|half an?) (?:and a half )?"
                  r"(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?)(?: and a half)?")
BUILT_IN_SLOT_PATTERNS = {
    "AMAZON.NUMBER": _NUMBER,
    "AMAZON.FOUR_DIGIT_NUMBER": _NUMBER,
    "AMAZON.Ordinal": _ORDINAL,
    "AMAZON.DURATION": rf"(?:{_DURATION_PART}(?:,? and {_DURATION_PART})*)",
}


# Checking a model costs a lot (about 7,000 samples in each English locale), and the locale
# generator, the packager and the tests check the same models, and copies of them that differ in
# a sample or two, again and again. So every result is remembered by content: a whole model's
# problems by its JSON text, and each sample's own work (its text problems, how Alexa hears it,
# every utterance its slots can make) by the sample and what it depends on. The results are
# the same as computing them afresh; only the time differs.
_MODELS_REMEMBERED = 32


class _ByContent:
    """The last few results of an expensive function of a JSON value, by the value's text."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.results: OrderedDict[tuple[str, ...], Any] = OrderedDict()
        # A text a value was parsed from -> json.dumps's text of the value (the results' key).
        self.texts: OrderedDict[str, str] = OrderedDict()

    def get(self, value: Any, extra: tuple[str, ...], compute: Callable[[Any], Any],
            text: str | None = None) -> Any:
        """compute(value), or what it returned for the same text and `extra` last time.

        `text`: the JSON text `value` was parsed from, if at hand: a file read again unchanged
        is then known by its text, without writing the value out again with json.dumps (which
        takes longer than the rest of a check whose results are known)."""
        canonical = None if text is None else self.texts.get(text)
        if canonical is None:
            try:
                canonical = json.dumps(value, sort_keys=True)
            except (TypeError, ValueError):  # not JSON (a set, a cycle): no text to know it by
                return compute(value)
        if text is not None:
            self.texts[text] = canonical
            self.texts.move_to_end(text)
            if len(self.texts) > 2 * self.size:
                self.texts.popitem(last=False)
        key = (canonical, *extra)
        if key in self.results:
            self.results.move_to_end(key)
            return self.results[key]
        result = self.results[key] = compute(value)
        if len(self.results) > self.size:
            self.results.popitem(last=False)
        return result


_checked_models = _ByContent(_MODELS_REMEMBERED)
_phrase_forms = _ByContent(_MODELS_REMEMBERED)


def _sample_forms(model: Any) -> list[tuple[str, ...]]:
    """Each sample as Alexa compares it (lower case, spaces collapsed), split at its slots: the
    odd parts are the slots' type names."""
    forms = []
    for intent in _intents(model):
        types = {str(_dict(s).get("name")): str(_dict(s).get("type"))
                 for s in _list(intent.get("slots"))}
        key = tuple(sorted(types.items()))
        forms += [_sample_form(sample, key) for sample in _strings(intent.get("samples"))]
    return forms


# Remembered: the English locales share most samples, and a model checked again after an edit
# all but a few.
@functools.lru_cache(maxsize=65536)
def _sample_form(sample: str, types: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """One sample of _sample_forms; `types`: its intent's slots, {name: type} as items."""
    names = dict(types)
    # Split before lower-casing: slot names are case-sensitive.
    parts = SLOT_REFERENCE.split(sample.strip())
    return tuple(re.sub(r"\s+", " ", part.lower()) if i % 2 == 0 else names.get(part, "")
                 for i, part in enumerate(parts))


@dataclass(frozen=True)
class _Forms:
    """A model's samples as an example phrase is compared with them (_sample_forms), those with
    slots by their text before the first slot: words fit only the ones they begin with."""

    whole: frozenset[str]  # the samples without slots
    by_start: dict[str, list[tuple[str, ...]]]
    values: dict[str, set[str]]  # _slot_values, spoken as _normalize has it
    # What fit answered (the same model's example phrases are checked again and again).
    fitted: dict[str, bool] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, model: Any) -> _Forms:
        whole: set[str] = set()
        by_start: dict[str, list[tuple[str, ...]]] = {}
        for form in _sample_forms(model):
            if len(form) == 1:
                whole.add(form[0])
            else:
                by_start.setdefault(form[0], []).append(form)
        return cls(frozenset(whole), by_start, _slot_values(model, _normalize))

    def fit(self, text: str) -> bool:
        """Whether the words fit one of the samples (_fits)."""
        if text not in self.fitted:
            self.fitted[text] = text in self.whole or any(
                _fits(form, text, self.values) for start, forms in self.by_start.items()
                if text.startswith(start) for form in forms)
        return self.fitted[text]


def _slot_values(model: Any, spoken: Callable[[str], str]) -> dict[str, set[str]]:
    """{custom slot type: its values and synonyms}, each put through `spoken`."""
    values: dict[str, set[str]] = {}
    for slot_type in _list(_language_model(model).get("types")):
        words = values.setdefault(str(_dict(slot_type).get("name")), set())
        for value in _list(_dict(slot_type).get("values")):
            name = _dict(_dict(value).get("name"))
            words |= {spoken(t) for t in [name.get("value"), *_list(name.get("synonyms"))]
                      if isinstance(t, str)}
    return values


def _fits(parts: Sequence[str], text: str, values: Mapping[str, set[str]]) -> bool:
    """Whether the words fit a sample split at its slots (odd parts: slot type names): a custom
    slot takes one of its type's values, a built-in one what that type can hear."""
    if not text.startswith(parts[0]):
        return False
    if len(parts) == 1:
        return text == parts[0]
    rest = text[len(parts[0]):]
    slot_type, after = parts[1], parts[2]
    for end in range(1, len(rest) + 1):
        if not rest[end:].startswith(after):
            continue
        heard = rest[:end]
        if slot_type in values:
            fits = heard in values[slot_type]
        else:
            fits = _built_in(slot_type).fullmatch(heard) is not None
        if fits and _fits([after, *parts[3:]], rest[end:], values):
            return True
    return False


@functools.cache
def _built_in(slot_type: str) -> re.Pattern[str]:
    return re.compile(BUILT_IN_SLOT_PATTERNS.get(slot_type, ANY_WORDS))


@functools.lru_cache(maxsize=4096)
def _built_in_sample(parts: tuple[str, ...]) -> re.Pattern[str]:
    """_fits for a sample whose slots are all built-in (or of no type the model defines), as
    one expression: each slot hears exactly what _built_in's pattern for its type does."""
    return re.compile("".join(
        re.escape(part) if i % 2 == 0 else f"(?:{BUILT_IN_SLOT_PATTERNS.get(part, ANY_WORDS)})"
        for i, part in enumerate(parts)))


def _whole_words(parts: Sequence[str]) -> set[str]:
    """The words of a sample's own text (not its slots') that every utterance fitting it has as
    whole words: those with a space or the sample's start or end on both sides."""
    words = set()
    last = len(parts) - 1
    for i in range(0, len(parts), 2):
        tokens = parts[i].split(" ")
        for j, token in enumerate(tokens):
            if token and (j > 0 or i == 0) and (j < len(tokens) - 1 or i == last):
                words.add(token)
    return words


# --- interaction model --------------------------------------------------------------------


def check_invocation_name(name: Any) -> list[str]:
    """Problems with an invocation name under Amazon's rules and the project's (two+ words)."""
    if not isinstance(name, str) or not name.strip():
        return ["invocation name is missing"]
    problems = []
    if name != name.lower():
        problems.append(f"invocation name {name!r} must be all lowercase")
    bad = sorted({ch for ch in name if not (ch.isalpha() or ch in " ." + APOSTROPHES)})
    if bad:
        problems.append(f"invocation name {name!r} has characters Alexa does not allow: {bad}")
    words = name.lower().split()
    if len(words) < 2:
        problems.append(f"invocation name {name!r} must have two or more words")
    bare = [word.strip("." + APOSTROPHES) for word in words]
    for word in sorted(set(bare) & WAKE_WORDS):
        problems.append(f"invocation name {name!r} contains the wake word {word!r}")
    for word in sorted(set(bare) & LAUNCH_WORDS):
        problems.append(f"invocation name {name!r} contains the launch word {word!r}")
    if len(bare) == 2:
        for word in sorted(set(bare) & ARTICLES_AND_PREPOSITIONS):
            problems.append(
                f"two-word invocation name {name!r} contains the article or preposition {word!r}"
            )
    return problems


def check_sample_text(sample: Any) -> list[str]:
    """Problems with one sample's text: characters, slot syntax and length."""
    if not isinstance(sample, str):
        return [f"sample {sample!r} is not a string"]
    return list(_sample_text_problems(sample))


@functools.lru_cache(maxsize=65536)
def _sample_text_problems(sample: str) -> tuple[str, ...]:
    if not sample.strip():
        return ("empty sample",)
    problems = []
    outside_slots = SLOT_REFERENCE.sub(" ", sample)
    if "{" in outside_slots or "}" in outside_slots:
        problems.append(f"sample {sample!r} has an unbalanced curly brace")
    bad = sorted({ch for ch in outside_slots
                  if not (ch.isalpha() or ch in " ." + APOSTROPHES or ch in "{}")})
    if bad:
        digits = " (write numbers as words)" if any(ch.isdigit() for ch in bad) else ""
        problems.append(f"sample {sample!r} has characters Alexa does not allow: {bad}{digits}")
    for slot in SLOT_REFERENCE.findall(sample):
        if not SLOT_NAME_PATTERN.fullmatch(slot):
            problems.append(f"sample {sample!r} has a malformed slot reference {{{slot}}}")
    if len(sample) > MAX_SAMPLE_CHARS:
        problems.append(f"sample {sample[:40]!r}... is {len(sample)} characters "
                        f"(at most {MAX_SAMPLE_CHARS})")
    return tuple(problems)


def check_interaction_model(model: Any, where: str = "interaction model", *,
                            text: str | None = None) -> list[str]:
    """All problems with one locale's interaction model (file content as parsed JSON).

    `text`: the JSON text the model was parsed from, if at hand (it finds a result known
    already sooner)."""
    problems = _checked_models.get(model, (), lambda m: tuple(_check_interaction_model(m)),
                                   text)
    return [f"{where}: {problem}" for problem in problems]


def _check_interaction_model(model: Any) -> list[str]:
    """check_interaction_model's problems, each without the file it is in."""
    problem = _deserialization_problem(model, InteractionModelData)
    if problem:
        return [problem]
    problems: list[str] = []
    language_model = _language_model(model)
    if not language_model:
        return ["interactionModel.languageModel is missing"]
    if not isinstance(language_model.get("intents"), list):
        return ["languageModel.intents must be a list"]

    invocation = language_model.get("invocationName")
    problems += check_invocation_name(invocation)
    invocation_words = _normalize(invocation) if isinstance(invocation, str) else ""

    custom_types: dict[str, dict[str, Any]] = {}
    for slot_type in _list(language_model.get("types")):
        type_name = _dict(slot_type).get("name")
        if not isinstance(type_name, str):
            problems.append("a custom slot type has no name")
            continue
        custom_types[type_name] = _dict(slot_type)
        for value in _list(_dict(slot_type).get("values")):
            value_name = _dict(_dict(value).get("name"))
            for text in [value_name.get("value"), *_list(value_name.get("synonyms"))]:
                if not isinstance(text, str) or not text.strip():
                    problems.append(f"slot type {type_name} has an empty value")
                elif len(text) > MAX_SLOT_VALUE_CHARS:
                    problems.append(f"slot type {type_name} value {text[:40]!r}... is "
                                    f"longer than {MAX_SLOT_VALUE_CHARS} characters")

    intents = _intents(model)
    names = [intent.get("name") for intent in intents]
    for required in REQUIRED_INTENTS:
        if required not in names:
            problems.append(f"required built-in intent {required} is missing")
    for name in sorted({n for n in names if isinstance(n, str) and names.count(n) > 1}):
        problems.append(f"intent {name} is defined more than once")

    owner: dict[str, str] = {}  # the sample as spoken (slots by type) -> first intent with it
    for intent in intents:
        intent_name = str(intent.get("name"))
        slots = {}
        for slot in _list(intent.get("slots")):
            slot_name, slot_type = _dict(slot).get("name"), _dict(slot).get("type")
            if not isinstance(slot_name, str) or not SLOT_NAME_PATTERN.fullmatch(slot_name):
                problems.append(f"intent {intent_name} has a slot with a bad name "
                                f"{slot_name!r}")
                continue
            slots[slot_name] = slot
            if not isinstance(slot_type, str):
                problems.append(f"slot {intent_name}.{slot_name} has no type")
            elif slot_type.startswith("AMAZON."):
                if slot_type not in AMAZON_SLOT_TYPES:
                    problems.append(f"slot {intent_name}.{slot_name} has type "
                                    f"{slot_type}, which is not a known built-in slot type")
            elif slot_type not in custom_types:
                problems.append(f"slot {intent_name}.{slot_name} has type "
                                f"{slot_type}, which the model does not define")

        types = _types_key(slots)
        # Intent samples, then the samples that answer a slot elicitation.
        samples = [(s, "sample") for s in _list(intent.get("samples"))]
        for slot_name, slot in slots.items():
            samples += [(s, f"slot {slot_name} sample") for s in _list(_dict(slot).get("samples"))]
        seen_here: set[str] = set()
        for sample, kind in samples:
            text_problems = check_sample_text(sample)
            problems += [f"intent {intent_name} {kind}: {p}" for p in text_problems]
            if not isinstance(sample, str):
                continue
            named = SLOT_REFERENCE.findall(sample)
            for slot_name in sorted({n for n in named if named.count(n) > 1}):
                problems.append(f"intent {intent_name} {kind} {sample!r} uses slot "
                                f"{{{slot_name}}} more than once (Alexa refuses the model)")
            for slot_name in named:
                if SLOT_NAME_PATTERN.fullmatch(slot_name) and slot_name not in slots:
                    problems.append(f"intent {intent_name} {kind} {sample!r} uses slot "
                                    f"{{{slot_name}}}, which the intent does not define")
            normal = _normalize(sample)
            if invocation_words and f" {invocation_words} " in f" {normal} ":
                problems.append(f"intent {intent_name} {kind} {sample!r} contains the "
                                f"invocation name")
            if kind != "sample":
                continue
            bare = re.fullmatch(r"\s*\{([^{}]*)\}\s*", sample)
            bare_type = _dict(slots.get(bare.group(1))).get("type") if bare else None
            if isinstance(bare_type, str) and not bare_type.startswith("AMAZON."):
                problems.append(f"intent {intent_name} sample {sample!r} is only a slot "
                                f"of the custom type {bare_type}: Alexa sends the intent almost "
                                f"anything said; give it words around the slot")
            if normal in seen_here:
                problems.append(f"intent {intent_name} lists sample {sample!r} twice")
            seen_here.add(normal)
            # Across intents, samples Alexa would hear alike are one: "I'm done" is "I am done",
            # "{who} fell" is "{person} fell" when both slots are PERSON.
            first = owner.setdefault(_spoken(sample, types), intent_name)
            if first != intent_name:
                problems.append(f"sample {sample!r} is in both {first} and "
                                f"{intent_name}")
    return problems + _overlaps(model)


def _slot_type_names(slots: Mapping[str, Any]) -> dict[str, str]:
    return {name: str(_dict(slot).get("type")) for name, slot in slots.items()}


def _types_key(slots: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """An intent's {slot name: type name}, hashable (what _spoken depends on)."""
    return tuple(sorted(_slot_type_names(slots).items()))


@functools.lru_cache(maxsize=65536)
def _spoken(sample: str, types: tuple[tuple[str, str], ...]) -> str:
    """The sample as the stand-in NLU hears it (case, contractions, hesitations), each slot
    named by its type (`types`: the intent's slots, _types_key)."""
    names = dict(types)
    return SLOT_REFERENCE.sub(lambda m: "{" + names.get(m.group(1), m.group(1)) + "}",
                              normalize_sample(sample))


@functools.lru_cache(maxsize=65536)
def _spoken_parts(sample: str, types: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """_spoken split at its slots: the odd parts are the slots' type names."""
    return tuple(SLOT_REFERENCE.split(_spoken(sample, types)))


_heard_value = functools.lru_cache(maxsize=65536)(normalize)


@functools.lru_cache(maxsize=16384)
def _expansions(parts: tuple[str, ...], choices: tuple[tuple[str, ...], ...]) -> frozenset[str]:
    """Every utterance a sample split at its slots can be, each slot taking each of `choices`."""
    pieces = [(part,) if i % 2 == 0 else choices[i // 2] for i, part in enumerate(parts)]
    return frozenset(" ".join("".join(words).split()) for words in itertools.product(*pieces))


def _overlaps(model: Any) -> list[str]:
    """Samples of two intents that one utterance can match: "I can't walk" in one intent and
    "I {symptom}" in another, where "can't walk" is a value of the symptom's type.

    A sample with slots stands for every value of its custom slots; one with a built-in slot
    (a number, a duration), or with more than MAX_EXPANSIONS combinations of values, is
    compared with the samples without slots, by what its slots can hear."""
    sets = _slot_values(model, _heard_value)
    values = {name: tuple(sorted(words)) for name, words in sets.items()}
    literal: list[tuple[str, str, str]] = []  # (as heard, intent, sample) for samples w/o slots
    owners: dict[str, set[tuple[str, str]]] = {}  # such an utterance -> (intent, sample)s
    expanded: list[tuple[tuple[str, str], frozenset[str]]] = []  # (intent, sample), utterances
    patterns: list[tuple[str, str, tuple[str, ...]]] = []
    for intent in _intents(model):
        intent_name = str(intent.get("name"))
        types = _types_key({str(_dict(s).get("name")): s for s in _list(intent.get("slots"))})
        for sample in _strings(intent.get("samples")):
            parts = _spoken_parts(sample, types)  # odd parts: slot type names
            if len(parts) == 1:
                literal.append((parts[0], intent_name, sample))
                owners.setdefault(parts[0], set()).add((intent_name, sample))
                continue
            choices = tuple(values.get(p, ()) for p in parts[1::2])
            built_in = any(p.startswith("AMAZON.") for p in parts[1::2])
            if built_in or math.prod(len(c) for c in choices) > MAX_EXPANSIONS:
                patterns.append((intent_name, sample, parts))
                continue
            expanded.append(((intent_name, sample), _expansions(parts, choices)))

    # The utterances more than one sample can be (set operations, not pairs of samples): those
    # two samples without slots are, and those a sample's slots make that another sample is
    # or makes too. Every other utterance has one sample, and nothing to report.
    seen = set(owners)
    shared = {utterance for utterance, by in owners.items() if len(by) > 1}
    for _, utterances in expanded:
        shared |= utterances & seen
        seen |= utterances
    heard_by = {utterance: set(owners.get(utterance, ())) for utterance in shared}
    for owner, utterances in expanded:
        for utterance in utterances & shared:
            heard_by[utterance].add(owner)
    problems = []
    for utterance, by in sorted(heard_by.items()):
        if len(by) < 2 or len({name for name, _ in by}) < 2 or _spoken_twice(by):
            continue
        problems.append(f"{utterance!r} is heard by more than one intent: "
                        f"{', '.join(f'{n} {s!r}' for n, s in sorted(by))}")
    if patterns:
        problems += _pattern_overlaps(patterns, literal, sets)
    return problems


def _pattern_overlaps(patterns: list[tuple[str, str, tuple[str, ...]]],
                      literal: list[tuple[str, str, str]],
                      sets: Mapping[str, set[str]]) -> list[str]:
    """The samples without slots that a sample with built-in slots, or too many combinations
    of values to list, can hear. The literal samples are indexed by their words, so that each
    such sample is fitted only to those that begin as it can begin and have its own words."""
    by_first_word: dict[str, list[int]] = {}
    having: dict[str, set[int]] = {}  # word -> the literal samples with it as a whole word
    for index, (spoken, _, _) in enumerate(literal):
        words = spoken.split(" ")
        by_first_word.setdefault(words[0], []).append(index)
        for word in words:
            having.setdefault(word, set()).add(index)
    problems = []
    for intent_name, sample, parts in patterns:
        needed = sorted((having.get(word, set()) for word in _whole_words(parts)), key=len)
        with_words = set.intersection(*needed) if needed else None
        if not any(p in sets for p in parts[1::2]):
            # Built-in slots only: any literal sample can be a number, so all are candidates.
            indices: Iterable[int] = (range(len(literal)) if with_words is None
                                      else sorted(with_words))
            # The expression is compiled only for a sample that some other intent's sample
            # begins and ends like (a match needs both): compiling is most of the cost, and
            # few have such a neighbour.
            regex: re.Pattern[str] | None = None
            for spoken, other, other_sample in (literal[i] for i in indices):
                if (other == intent_name or not spoken.startswith(parts[0])
                        or not spoken.endswith(parts[-1])):
                    continue
                regex = regex or _built_in_sample(parts)
                if regex.fullmatch(spoken):
                    problems.append(f"{other} sample {other_sample!r} is also heard by "
                                    f"{intent_name} sample {sample!r}")
            continue
        # Only the samples that begin as this one can begin: its first word, or a value's.
        if parts[0]:
            firsts = {parts[0].split(" ", 1)[0]}
        elif parts[1] in sets:
            firsts = {w.split(" ", 1)[0] for w in sets[parts[1]] if w}
        else:
            firsts = set(by_first_word)
        indices = sorted(i for first in firsts for i in by_first_word.get(first, ())
                         if with_words is None or i in with_words)
        for spoken, other, other_sample in (literal[i] for i in indices):
            if (other != intent_name and spoken.endswith(parts[-1])
                    and _fits(parts, spoken, sets)):
                problems.append(f"{other} sample {other_sample!r} is also heard by "
                                f"{intent_name} sample {sample!r}")
    return problems


def _spoken_twice(owners: set[tuple[str, str]]) -> bool:
    """Two samples without slots that are one utterance: reported as "is in both" already."""
    return all(not SLOT_REFERENCE.search(sample) for _, sample in owners)


# --- manifest -----------------------------------------------------------------------------


def check_manifest(manifest: Any, *, uses_timers: bool = False, uses_apl: bool = False,
                   uses_can_fulfill: bool = False, where: str = MANIFEST_FILE) -> list[str]:
    """All problems with skill.json on its own (the cross-file checks are separate)."""
    problems = _deserialize(_representable(manifest), SkillManifestEnvelope, where)
    if problems:
        return problems
    body = _dict(_dict(manifest).get("manifest"))
    if not body:
        return [f"{where}: the top-level 'manifest' object is missing"]
    if not _dict(body.get("apis")).get("custom"):
        problems.append(f"{where}: manifest.apis.custom is missing (this is a custom skill)")

    publishing = _dict(body.get("publishingInformation"))
    locales = publishing.get("locales")
    if not isinstance(locales, dict) or not locales:
        problems.append(f"{where}: publishingInformation.locales is missing or empty")
        locales = {}
    for locale, raw_info in sorted(locales.items()):
        at = f"{where}: publishingInformation.locales.{locale}"
        if not LOCALE_PATTERN.fullmatch(locale):
            problems.append(f"{at}: {locale!r} is not a locale such as en-US")
        info = _dict(raw_info)
        for key, limit in (("name", MAX_NAME_CHARS), ("summary", MAX_SUMMARY_CHARS),
                           ("description", MAX_DESCRIPTION_CHARS)):
            text = info.get(key)
            if not isinstance(text, str) or not text.strip():
                problems.append(f"{at}.{key} is missing")
            elif len(text) > limit:
                problems.append(f"{at}.{key} is {len(text)} characters (at most {limit})")
        description = _normalize(str(info.get("description", "")))
        disclaimer = DISCLAIMER_PHRASES.get(locale.split("-")[0])
        if disclaimer is None:
            problems.append(f"{at}: no disclaimer phrases known for the language: add them to "
                            f"tooling/build/publishing.py DISCLAIMER_PHRASES")
        for phrase in disclaimer or ():
            if phrase not in description:
                problems.append(f"{at}.description lacks the medical disclaimer ({phrase!r})")
        phrases = info.get("examplePhrases")
        if (not isinstance(phrases, list) or not phrases
                or not all(isinstance(p, str) for p in phrases)):
            problems.append(f"{at}.examplePhrases must be a non-empty list of strings")
        elif len(phrases) > MAX_EXAMPLE_PHRASES:
            problems.append(f"{at}.examplePhrases has {len(phrases)} entries "
                            f"(at most {MAX_EXAMPLE_PHRASES})")

    privacy = _dict(body.get("privacyAndCompliance"))
    for flag in PRIVACY_FLAGS:
        if not isinstance(privacy.get(flag), bool):
            problems.append(f"{where}: privacyAndCompliance.{flag} must be true or false")

    permissions = {_dict(p).get("name") for p in _list(body.get("permissions"))}
    if uses_timers and TIMERS_SCOPE not in permissions:
        problems.append(f"{where}: the skill uses timers but manifest.permissions lacks "
                        f"{TIMERS_SCOPE}")
    interfaces = {_dict(i).get("type")
                  for i in _list(_dict(_dict(body.get("apis")).get("custom")).get("interfaces"))}
    if uses_apl and APL_INTERFACE not in interfaces:
        problems.append(f"{where}: the skill renders APL but apis.custom.interfaces lacks "
                        f"{APL_INTERFACE}")
    if uses_can_fulfill and CAN_FULFILL_INTERFACE not in interfaces:
        problems.append(f"{where}: the skill answers CanFulfillIntentRequest but "
                        f"apis.custom.interfaces lacks {CAN_FULFILL_INTERFACE}")
    return problems


# --- custom tasks -------------------------------------------------------------------------


def declared_tasks(manifest: Any) -> list[tuple[Any, Any]]:
    """(name, version) of each task skill.json declares (manifest.apis.custom.tasks)."""
    custom = _dict(_dict(_dict(_dict(manifest).get("manifest")).get("apis")).get("custom"))
    return [(_dict(t).get("name"), _dict(t).get("version")) for t in _list(custom.get("tasks"))]


def task_file_name(name: str, version: str) -> str:
    """Where a task is defined in the skill package, under tasks/."""
    return f"{name}.{version}.json"


def check_task_definition(definition: Any, name: str, version: str,
                          where: str = TASKS_DIR) -> list[str]:
    """Problems with one task definition file under Amazon's rules for custom tasks."""
    at = f"{where}/{task_file_name(name, version)}"
    if not isinstance(definition, dict):
        return [f"{at}: a task definition is a JSON object (OpenAPI 3)"]
    problems = []
    openapi = definition.get("openapi")
    if not isinstance(openapi, str) or not re.fullmatch(r"3\.\d+\.\d+", openapi):
        problems.append(f"{at}: 'openapi' must be an OpenAPI 3 version such as \"3.0.0\"")
    info = _dict(definition.get("info"))
    if not isinstance(info.get("title"), str) or not info["title"].strip():
        problems.append(f"{at}: info.title is missing")
    if info.get("version") != version:
        problems.append(f"{at}: info.version must be {version!r}, the version in its name")
    scope = info.get("x-amzn-alexa-access-scope", "vendor-private")
    if scope not in TASK_ACCESS_SCOPES:
        problems.append(f"{at}: info.x-amzn-alexa-access-scope must be one of "
                        f"{sorted(TASK_ACCESS_SCOPES)}")
    paths = _dict(definition.get("paths"))
    if list(paths) != [f"/{name}"]:
        problems.append(f"{at}: 'paths' must hold exactly one path, /{name} (found "
                        f"{sorted(paths) or 'none'})")
    item = _dict(paths.get(f"/{name}"))
    others = sorted(m for m in HTTP_METHODS if m in item and m != "post")
    if others:
        problems.append(f"{at}: /{name} may have only a post operation, not {others}")
    post = item.get("post")
    if not isinstance(post, dict):
        problems.append(f"{at}: /{name} needs a post operation (the task's payload)")
        post = {}
    body = post.get("requestBody")
    if body is not None:
        problems += _json_only(_dict(body).get("content"), f"{at}: the requestBody")
    responses = post.get("responses")
    if not isinstance(responses, dict) or not responses:
        problems.append(f"{at}: the post operation needs its responses")
    for status, answer in sorted(_dict(responses).items()):
        if "content" in _dict(answer):
            problems += _json_only(_dict(answer)["content"], f"{at}: response {status}")
    for ref in sorted(set(_refs(definition))):
        if not ref.startswith("#/") or _resolve(definition, ref) is None:
            problems.append(f"{at}: $ref {ref!r} must point inside the file (only inline "
                            f"references are allowed)")
    return problems


def _json_only(content: Any, what: str) -> list[str]:
    if not isinstance(content, dict) or list(content) != [JSON_MEDIA]:
        return [f"{what} may only be {JSON_MEDIA}"]
    return []


def _refs(data: Any) -> Iterable[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "$ref":
                yield str(value)
            else:
                yield from _refs(value)
    elif isinstance(data, list):
        for value in data:
            yield from _refs(value)


def _resolve(document: Any, ref: str) -> Any:
    target = document
    for part in ref[2:].split("/"):
        if not isinstance(target, dict) or part not in target:
            return None
        target = target[part]
    return target


def check_tasks(manifest: Any, task_files: Mapping[str, Any], *, uses_launch_task: bool = False,
                where: str = MANIFEST_FILE) -> list[str]:
    """skill.json's tasks and the files under tasks/ agree, and each definition is valid.

    `task_files`: {file name: parsed JSON (None if it did not load)}. `uses_launch_task`: the
    skill's timers launch skill.tasks' task, which must then be declared."""
    problems = []
    declared: set[tuple[str, str]] = set()
    for name, version in declared_tasks(manifest):
        at = f"{where}: apis.custom.tasks entry {name!r} version {version!r}"
        if not isinstance(name, str) or not TASK_NAME_PATTERN.fullmatch(name):
            problems.append(f"{at}: the name must be letters and digits, starting with a letter")
            continue
        if not isinstance(version, str) or not TASK_VERSION_PATTERN.fullmatch(version):
            problems.append(f"{at}: the version must be a positive whole number, as a string")
            continue
        if (name, version) in declared:
            problems.append(f"{at} is declared twice")
        declared.add((name, version))
        file_name = task_file_name(name, version)
        if file_name not in task_files:
            problems.append(f"{at}: {TASKS_DIR}/{file_name} is missing")
        elif task_files[file_name] is not None:
            problems += check_task_definition(task_files[file_name], name, version)
    named = {task_file_name(n, v) for n, v in declared}
    problems += [f"{TASKS_DIR}/{f}: not declared in {where} apis.custom.tasks"
                 for f in sorted(set(task_files) - named)]
    if uses_launch_task and (TASK_NAME, TASK_VERSION) not in declared:
        problems.append(f"{where}: the skill's timers launch the task {TASK_NAME} version "
                        f"{TASK_VERSION}, which apis.custom.tasks does not declare")
    return problems


def _representable(manifest: Any) -> Any:
    """skill.json without the interfaces ask-smapi-model lists as valid types
    (InterfaceType) but cannot deserialize (Interface has no class for them, e.g.
    CAN_FULFILL_INTENT_REQUEST): the library's gap is not the manifest's fault. Any other
    interface type still fails."""
    custom = _dict(_dict(_dict(_dict(manifest).get("manifest")).get("apis")).get("custom"))
    interfaces = custom.get("interfaces")
    if not isinstance(interfaces, list):
        return manifest
    known = set(Interface.discriminator_value_class_map)
    gap = {t.value for t in InterfaceType} - known
    kept = [i for i in interfaces if _dict(i).get("type") not in gap]
    if len(kept) == len(interfaces):
        return manifest
    copied = copy.deepcopy(manifest)
    copied["manifest"]["apis"]["custom"]["interfaces"] = kept
    return copied


def manifest_locales(manifest: Any) -> list[str]:
    """The locales skill.json publishes, sorted."""
    locales = _dict(_dict(_dict(manifest).get("manifest")).get("publishingInformation"))
    return sorted(_dict(locales.get("locales")))


def check_example_phrases(manifest: Any, models: Mapping[str, Any],
                          where: str = MANIFEST_FILE, *,
                          texts: Mapping[str, str] | None = None) -> list[str]:
    """Each example phrase wakes Alexa, opens this locale's invocation name, and says a sample.

    `texts`: {locale: the JSON text its model was parsed from}, as far as at hand."""
    problems = []
    locales = _dict(_dict(_dict(manifest).get("manifest")).get("publishingInformation"))
    for locale, info in sorted(_dict(locales.get("locales")).items()):
        model = models.get(locale)
        invocation = _language_model(model).get("invocationName")
        if not isinstance(invocation, str) or not invocation.strip():
            continue  # reported by the locale and model checks
        forms: _Forms = _phrase_forms.get(model, (), _Forms.of, (texts or {}).get(locale))
        invocation = _normalize(invocation)
        for phrase in _strings(_dict(info).get("examplePhrases")):
            at = f"{where}: {locale} example phrase {phrase!r}"
            if not phrase.startswith("Alexa,"):
                problems.append(f"{at} must start with 'Alexa,'")
                continue
            # Compare words only: drop the wake word, commas and closing punctuation.
            rest = _normalize(phrase[len("Alexa,"):].replace(",", " ").rstrip(".?! "))
            language = locale.split("-")[0]
            launch = next((lp for lp in EXAMPLE_LAUNCH_PHRASES.get(language, ())
                           if rest.startswith(f"{lp} {invocation}")), None)
            if launch is None:
                problems.append(f"{at} must continue with a launch word (open, ask, tell, "
                                f"start...) and the invocation name {invocation!r}")
                continue
            request = rest[len(f"{launch} {invocation}"):]
            if request and not request.startswith(" "):
                problems.append(f"{at}: the invocation name runs into the next word")
                continue
            request = request.strip()
            if not request:
                continue
            candidates = [request] + [request[len(w) + 1:]
                                      for w in CONNECTING_WORDS.get(language, ())
                                      if request.startswith(w + " ")]
            if not any(forms.fit(c) for c in candidates):
                problems.append(f"{at}: {request!r} is not a sample utterance of the {locale} "
                                f"model")
    return problems


def template_locales_available(templates_dir: Path, locales: Iterable[str]) -> dict[str, bool]:
    """For each locale, whether templates/<locale> or templates/<language> exists."""
    return {locale: (templates_dir / locale).is_dir()
            or (templates_dir / locale.split("-")[0]).is_dir()
            for locale in locales}


def check_locales(manifest: Any, model_locales: Iterable[str], templates_dir: Path,
                  where: str = MANIFEST_FILE) -> list[str]:
    """skill.json's locales, the model files and the template directories must agree."""
    published = set(manifest_locales(manifest))
    models = set(model_locales)
    problems = [f"{where}: locale {loc} has no interaction model {MODELS_DIR}/{loc}.json"
                for loc in sorted(published - models)]
    problems += [f"{MODELS_DIR}/{loc}.json: locale {loc} is not in {where} publishingInformation"
                 for loc in sorted(models - published)]
    for locale, covered in sorted(template_locales_available(templates_dir, published).items()):
        if not covered:
            problems.append(f"{where}: locale {locale} has no templates (neither "
                            f"{templates_dir.name}/{locale} nor {templates_dir.name}/"
                            f"{locale.split('-')[0]})")
    return problems


def validate_skill(manifest: Any, models: Mapping[str, Any], templates_dir: Path, *,
                   uses_timers: bool = False, uses_apl: bool = False,
                   task_files: Mapping[str, Any] | None = None, uses_launch_task: bool = False,
                   uses_can_fulfill: bool = False,
                   model_texts: Mapping[str, str] | None = None) -> list[str]:
    """Every check over parsed skill.json, models ({locale: model JSON}) and task files
    ({file name: task JSON}); `model_texts`: {locale: the JSON text its model was parsed
    from}, as far as at hand."""
    texts = model_texts or {}
    problems = check_manifest(manifest, uses_timers=uses_timers, uses_apl=uses_apl,
                              uses_can_fulfill=uses_can_fulfill)
    problems += check_tasks(manifest, task_files or {}, uses_launch_task=uses_launch_task)
    for locale, model in sorted(models.items()):
        if model is not None:  # None: the file did not load, which is reported already
            problems += check_interaction_model(model, where=f"{MODELS_DIR}/{locale}.json",
                                                text=texts.get(locale))
    problems += check_locales(manifest, models, templates_dir)
    problems += check_example_phrases(manifest, models, texts=texts)
    return problems


# --- files --------------------------------------------------------------------------------


def detect_features(root: Path) -> Features:
    """Whether code the Lambda entry point imports creates timers or renders APL.

    Imports are followed statically within the project only, so a module that exists but is not
    wired in yet (or this module, which names both) does not count.
    """
    entries = [p for p in (root / LAMBDA_ENTRY, root / PACKAGE_DIR / "app.py") if p.is_file()]
    if not entries:
        return Features(uses_timers=False, uses_apl=False)
    finder = modulefinder.ModuleFinder(path=[str(root)])
    finder.run_script(str(entries[0]))
    paths = (getattr(module, "__file__", None) for module in finder.modules.values())
    files = sorted({Path(path) for path in paths if isinstance(path, str) and path.endswith(".py")})
    source = "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in files)
    return Features(
        uses_timers="timer_management" in source or TIMERS_SCOPE in source,
        uses_apl="RenderDocumentDirective" in source or "presentation.apl" in source,
        uses_launch_task="LaunchTaskOperation" in source,
        uses_can_fulfill="CanFulfillIntentRequest" in source,
    )


def load_json(path: Path) -> tuple[Any, list[str]]:
    """The parsed file, or None and the reason it could not be read."""
    parsed, problems, _ = _load(path)
    return parsed, problems


def _load(path: Path, parsed: OrderedDict[str, Any] | None = None,
          ) -> tuple[Any, list[str], str | None]:
    """load_json, and the text parsed (None if there is none). `parsed`: {text: JSON value}
    to look the text up in first, and to keep what it parses to in."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [f"{path.name}: file not found"], None
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{path.name}: not valid JSON: {exc}"], None
    if parsed is not None and text in parsed:
        parsed.move_to_end(text)
        return parsed[text], [], text
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [f"{path.name}: not valid JSON: {exc}"], None
    if parsed is not None:
        parsed[text] = value
        if len(parsed) > _MODELS_REMEMBERED:
            parsed.popitem(last=False)
    return value, [], text


# The models validate_project read last, by their text. A checkout's models are read again and
# again unchanged (by every check of the project or a copy of it, and the build), and parsing
# them took longer than the rest of the check once its results are known. No check changes a
# model, so each reading of the same text shares one parsed model.
_parsed_models: OrderedDict[str, Any] = OrderedDict()


def model_files(root: Path) -> dict[str, Path]:
    """{locale: path} for every interaction model file in the project."""
    return {path.stem: path for path in sorted((root / MODELS_DIR).glob("*.json"))}


def task_files(root: Path) -> dict[str, Path]:
    """{file name: path} for every task definition in the project."""
    return {path.name: path for path in sorted((root / TASKS_DIR).glob("*.json"))}


def validate_project(root: Path | None = None, *, uses_timers: bool | None = None,
                     uses_apl: bool | None = None, uses_launch_task: bool | None = None,
                     uses_can_fulfill: bool | None = None) -> list[str]:
    """Every check over the files in a project checkout; a flag left None is detected from code."""
    root = PROJECT_ROOT if root is None else Path(root)
    # Following the imports takes longer than the rest of a check whose results are known:
    # done only for a flag left to it (with every flag given, `features` is not read).
    features = (detect_features(root)
                if None in (uses_timers, uses_apl, uses_launch_task, uses_can_fulfill)
                else Features(uses_timers=False, uses_apl=False))
    manifest, problems = load_json(root / MANIFEST_FILE)
    models: dict[str, Any] = {}
    texts: dict[str, str] = {}
    for locale, path in model_files(root).items():
        model, load_problems, text = _load(path, _parsed_models)
        problems += [f"{MODELS_DIR}/{p}" for p in load_problems]
        models[locale] = model
        if text is not None:
            texts[locale] = text
    tasks: dict[str, Any] = {}
    for name, path in task_files(root).items():
        definition, load_problems = load_json(path)
        problems += [f"{TASKS_DIR}/{p}" for p in load_problems]
        tasks[name] = definition
    if manifest is None:
        return problems
    if not models:
        problems.append(f"{MODELS_DIR}/: no interaction model files")
    return problems + validate_skill(
        manifest, models, root / TEMPLATES_DIR,
        uses_timers=features.uses_timers if uses_timers is None else uses_timers,
        uses_apl=features.uses_apl if uses_apl is None else uses_apl,
        task_files=tasks,
        uses_launch_task=(features.uses_launch_task if uses_launch_task is None
                          else uses_launch_task),
        uses_can_fulfill=(features.uses_can_fulfill if uses_can_fulfill is None
                          else uses_can_fulfill),
        model_texts=texts,
    )


def main() -> int:
    """Print the project's problems; exit status 1 if there are any."""
    problems = validate_project()
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)" if problems else "skill.json and models are valid")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
